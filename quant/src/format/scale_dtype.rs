//! The float type a checkpoint stores scales in. Quantizers round each scale to it *before*
//! computing codes, so the codes are exactly right for the scale a loader will read back.

use half::{bf16, f16};

/// The float type scales are stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScaleDtype {
    /// 32-bit float (in-memory fake quantization; no rounding).
    F32,
    /// IEEE half (GPTQ checkpoints; compressed-tensors models in float16).
    F16,
    /// bfloat16 (compressed-tensors models in bfloat16).
    Bf16,
}

impl ScaleDtype {
    /// Rounds `x` to the nearest value of this type (ties to even), returned as f32.
    pub fn round(self, x: f32) -> f32 {
        match self {
            ScaleDtype::F32 => x,
            ScaleDtype::F16 => f16::from_f32(x).to_f32(),
            ScaleDtype::Bf16 => bf16::from_f32(x).to_f32(),
        }
    }

    /// The machine epsilon of this type (`torch.finfo(dtype).eps`): compressed-tensors puts it in
    /// place of a zero scale (an all-zero group) so that quantizing never divides by zero.
    pub fn eps(self) -> f32 {
        match self {
            ScaleDtype::F32 => f32::EPSILON,
            ScaleDtype::F16 => f16::EPSILON.to_f32(),
            ScaleDtype::Bf16 => bf16::EPSILON.to_f32(),
        }
    }

    /// Whether `x` is exactly a finite value of this type.
    pub fn holds(self, x: f32) -> bool {
        x.is_finite() && self.round(x) == x
    }

    /// Lower-case name ("bf16").
    pub fn name(self) -> &'static str {
        match self {
            ScaleDtype::F32 => "f32",
            ScaleDtype::F16 => "f16",
            ScaleDtype::Bf16 => "bf16",
        }
    }
}
