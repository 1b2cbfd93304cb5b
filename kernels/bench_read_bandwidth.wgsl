// Read-bandwidth probe for the benchmark (instrument/bandwidth.ts): a grid-stride loop XOR-reducing a
// large buffer as vec4<u32>, one sum per workgroup so the reads cannot be optimised away.
struct Params { words4: u32, threads: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;      // [words4] 16-byte words
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;     // [workgroups]
var<workgroup> red: array<u32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(local_invocation_index) l: u32, @builtin(workgroup_id) w: vec3<u32>) {
  var acc = vec4<u32>(0u);
  for (var i = g.x; i < p.words4; i += p.threads) {
    acc ^= src[i];
  }
  red[l] = acc.x ^ acc.y ^ acc.z ^ acc.w;
  workgroupBarrier();
  if (l == 0u) {
    var s = 0u;
    for (var j = 0u; j < 256u; j++) { s ^= red[j]; }
    sums[w.x] = s;
  }
}
