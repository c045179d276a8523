// Overlay shader of the viewer: a full-screen triangle that blends an RGBA
// image (text, timeline) over the rendered scene. Kept beside render.wgsl,
// not in shaders/, for the reason given there.

@group(0) @binding(0) var overlay_tex: texture_2d<f32>;
@group(0) @binding(1) var overlay_smp: sampler;
@group(0) @binding(2) var<uniform> overlay_srgb: vec4<f32>; // x: 1 to undo an sRGB target's encoding

struct OverlayOut {
  @builtin(position) clip: vec4<f32>,
  @location(0) uv: vec2<f32>,
}

@vertex
fn vs_overlay(@builtin(vertex_index) i: u32) -> OverlayOut {
  // One triangle that covers the screen: (-1,-1), (3,-1), (-1,3).
  let x = f32((i << 1u) & 2u);
  let y = f32(i & 2u);
  var out: OverlayOut;
  out.clip = vec4<f32>(x * 2.0 - 1.0, y * 2.0 - 1.0, 0.0, 1.0);
  out.uv = vec2<f32>(x, 1.0 - y);
  return out;
}

@fragment
fn fs_overlay(in: OverlayOut) -> @location(0) vec4<f32> {
  var c = textureSample(overlay_tex, overlay_smp, in.uv);
  if (overlay_srgb.x > 0.5) {
    c = vec4<f32>(pow(c.rgb, vec3<f32>(2.2)), c.a);
  }
  return c;
}
