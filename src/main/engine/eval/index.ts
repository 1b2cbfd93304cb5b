// Evaluation over token sequences: perplexity with eval_ppl.py's windowing, and text files as its stream.
export { perplexity, tokenNll, windowStarts, type LogitsSource, type PerplexityOptions, type PerplexityResult, type WindowScheme } from './perplexity';
export { encodeDocumentStream, splitDocuments } from './text';
