// Render shaders of the viewer: lit instanced geoms, a grid on planes, and
// unlit coloured triangles for planned paths. They live in viewer/ rather
// than shaders/ because shaders/ holds the compute kernels and its tests
// check every .wgsl there against the compute binding convention
// (Model / Data in / Data out), which a render pipeline does not follow.

struct Frame {
  view_proj: mat4x4<f32>,
  eye: vec4<f32>,       // camera position (xyz), fog end distance (w)
  headlight: vec4<f32>, // unit direction from a surface towards the camera's light (xyz)
  top: vec4<f32>,       // unit direction towards the overhead light (xyz)
  light: vec4<f32>,     // ambient, headlight diffuse, overhead diffuse, 1 to undo an sRGB target's encoding
  sky: vec4<f32>,       // background colour that distant surfaces fade into
}

@group(0) @binding(0) var<uniform> frame: Frame;

struct GeomIn {
  @location(0) pos: vec3<f32>,
  @location(1) normal: vec3<f32>,
  @location(2) r0: vec4<f32>,    // rotation column 0 (xyz), position x (w)
  @location(3) r1: vec4<f32>,    // rotation column 1, position y
  @location(4) r2: vec4<f32>,    // rotation column 2, position z
  @location(5) scale: vec4<f32>, // per-axis scale (xyz), 1 to draw a grid (w)
  @location(6) color: vec4<f32>,
}

struct GeomOut {
  @builtin(position) clip: vec4<f32>,
  @location(0) world: vec3<f32>,
  @location(1) normal: vec3<f32>,
  @location(2) color: vec4<f32>,
  @location(3) grid: f32,
}

@vertex
fn vs_geom(v: GeomIn) -> GeomOut {
  let rot = mat3x3<f32>(v.r0.xyz, v.r1.xyz, v.r2.xyz);
  let world = rot * (v.pos * v.scale.xyz) + vec3<f32>(v.r0.w, v.r1.w, v.r2.w);
  var out: GeomOut;
  out.clip = frame.view_proj * vec4<f32>(world, 1.0);
  out.world = world;
  // Normals of a non-uniformly scaled mesh transform by the inverse scale.
  out.normal = rot * (v.normal / v.scale.xyz);
  out.color = v.color;
  out.grid = v.scale.w;
  return out;
}

// finish applies fog and undoes the target's sRGB encoding when it has one,
// so that a window and an off-screen PNG show the same bytes.
fn finish(c: vec3<f32>, world: vec3<f32>, alpha: f32) -> vec4<f32> {
  let dist = distance(world, frame.eye.xyz);
  let fog = smoothstep(0.5 * frame.eye.w, frame.eye.w, dist);
  var rgb = mix(c, frame.sky.rgb, fog);
  if (frame.light.w > 0.5) {
    rgb = pow(max(rgb, vec3<f32>(0.0)), vec3<f32>(2.2));
  }
  return vec4<f32>(rgb, alpha);
}

@fragment
fn fs_geom(in: GeomOut, @builtin(front_facing) front: bool) -> @location(0) vec4<f32> {
  var n = normalize(in.normal);
  if (!front) {
    n = -n;
  }
  // 1 m grid lines about one pixel wide; derivatives taken in uniform control flow.
  let p = in.world.xy;
  let w = max(fwidth(p), vec2<f32>(1e-4));
  let g = abs(fract(p - 0.5) - 0.5) / w;
  // Fade the lines out where a cell shrinks to a few pixels (moiré).
  let fade = 1.0 - smoothstep(0.1, 0.35, max(w.x, w.y));
  let line = (1.0 - min(min(g.x, g.y), 1.0)) * in.grid * fade;
  let base = mix(in.color.rgb, in.color.rgb * 0.55, line);
  let hl = max(dot(n, frame.headlight.xyz), 0.0);
  let top = max(dot(n, frame.top.xyz), 0.0);
  let c = base * (frame.light.x + frame.light.y * hl + frame.light.z * top);
  return finish(c, in.world, in.color.a);
}

struct PathIn {
  @location(0) pos: vec3<f32>,
  @location(1) color: vec4<f32>,
}

struct PathOut {
  @builtin(position) clip: vec4<f32>,
  @location(0) world: vec3<f32>,
  @location(1) color: vec4<f32>,
}

@vertex
fn vs_path(v: PathIn) -> PathOut {
  var out: PathOut;
  out.clip = frame.view_proj * vec4<f32>(v.pos, 1.0);
  out.world = v.pos;
  out.color = v.color;
  return out;
}

@fragment
fn fs_path(in: PathOut) -> @location(0) vec4<f32> {
  return finish(in.color.rgb, in.world, in.color.a);
}
