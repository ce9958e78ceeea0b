//! A Linear's weight as the model's backend prepared it ([`kernels::prepared`]): uploaded once
//! to a GPU instead of on every call, or repacked for the CPU's int8 path (`cpu-q8` on AVX-512
//! VNNI). [`Model::new`](crate::transformer::Model::new) prepares
//! every Linear (and the tied embedding when it serves as lm_head); backends that read host
//! weights in place prepare nothing and the plain path runs.
//!
//! A slot remembers where the weight's data lived when it was prepared; a weight replaced
//! since ([`Linear::set_weight`](crate::linear::Linear::set_weight) also drops the slot, and
//! [`Model::linears_mut`](crate::transformer::Model::linears_mut) drops them all) no longer
//! matches and runs the plain path, so a stale device copy is never used.

use crate::error::Result;
use crate::linear_weight::LinearWeight;
use kernels::{Backend, PreparedWeight};

/// A prepared weight and the fingerprint of the host weight it came from.
pub struct PreparedSlot {
    from: Fingerprint,
    weight: Box<dyn PreparedWeight>,
}

/// Address and byte length of each buffer of a [`LinearWeight`]'s data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fingerprint([(usize, usize); 2]);

fn fingerprint(w: &LinearWeight) -> Fingerprint {
    fn span<T>(s: &[T]) -> (usize, usize) {
        (s.as_ptr() as usize, std::mem::size_of_val(s))
    }
    Fingerprint(match w {
        LinearWeight::Dense(t) => match t.dense() {
            kernels::DenseWeight::F32(v) => [span(v), (0, 0)],
            kernels::DenseWeight::BF16(v) => [span(v), (0, 0)],
            kernels::DenseWeight::F16(v) => [span(v), (0, 0)],
        },
        LinearWeight::Packed(p) => [span(p.codes()), span(p.scales())],
        LinearWeight::Gguf(g) => [span(&g.bytes), (0, 0)],
    })
}

impl PreparedSlot {
    /// `w` prepared by `backend`, or `None` when the backend prepares nothing.
    pub fn prepare(backend: &dyn Backend, w: &LinearWeight) -> Result<Option<PreparedSlot>> {
        Self::prepare_view(backend, w, w.view())
    }

    /// `w` prepared by `backend` for integer W8A8 ([`kernels::WeightView::W8a8`]): `w` must be an
    /// int8 symmetric per-channel packed weight.
    pub fn prepare_w8a8(backend: &dyn Backend, w: &LinearWeight) -> Result<Option<PreparedSlot>> {
        let LinearWeight::Packed(p) = w else {
            return Err(kernels::KernelError::Unsupported {
                op: "prepare",
                what: "a W8A8 weight that is not in the packed layout (int8 symmetric per-channel)".into(),
            }
            .into());
        };
        Self::prepare_view(backend, w, kernels::WeightView::W8a8(p))
    }

    fn prepare_view(
        backend: &dyn Backend,
        w: &LinearWeight,
        view: kernels::WeightView<'_>,
    ) -> Result<Option<PreparedSlot>> {
        Ok(backend.prepare(view)?.map(|weight| PreparedSlot { from: fingerprint(w), weight }))
    }

    /// The prepared weight if it still belongs to `w`.
    pub fn get(&self, w: &LinearWeight) -> Option<&dyn PreparedWeight> {
        (fingerprint(w) == self.from && self.weight.shape() == w.shape()).then_some(self.weight.as_ref())
    }
}
