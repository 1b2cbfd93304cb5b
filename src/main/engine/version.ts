// Version of the inference engine (kernels, loaders, forward passes), recorded with every run so results
// can be traced to the code that produced them. Bump it when numerics or the checkpoint format change.
export const ENGINE_VERSION = '0.1.0';
