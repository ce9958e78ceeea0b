//! What calibration gathers from one decoder layer: a GPTQ Hessian per distinct Linear input
//! (q/k/v share one, gate/up share one, o_proj and down_proj have their own), filled by the
//! model's [`LayerObserver`] hook, and the time spent accumulating them.

use model::{LayerObserver, LinearInput, ModelError};
use quant::gptq::Hessian;
use std::time::{Duration, Instant};

/// Hessians of one layer's four Linear inputs.
pub struct LayerHessians {
    /// Indexed like [`LinearInput::ALL`]: `[d, d]`, `[H·hd, H·hd]`, `[d, d]`, `[f, f]`.
    hessians: Vec<Hessian>,
    /// Time spent in `Hessian::add_batch`.
    pub elapsed: Duration,
}

fn slot(site: LinearInput) -> usize {
    LinearInput::ALL.iter().position(|&s| s == site).expect("every site is in ALL")
}

impl LayerHessians {
    /// Empty Hessians for inputs of `d` (attention and MLP in), `qd` (o_proj) and `f` (down_proj)
    /// features.
    pub fn new(d: usize, qd: usize, f: usize) -> LayerHessians {
        LayerHessians {
            hessians: vec![Hessian::new(d), Hessian::new(qd), Hessian::new(d), Hessian::new(f)],
            elapsed: Duration::ZERO,
        }
    }

    /// The Hessian of `site`.
    pub fn get(&self, site: LinearInput) -> &Hessian {
        &self.hessians[slot(site)]
    }
}

impl LayerObserver for LayerHessians {
    fn observe(&mut self, site: LinearInput, x: &[f32], _rows: usize) -> model::Result<()> {
        let t0 = Instant::now();
        self.hessians[slot(site)].add_batch(x).map_err(ModelError::from)?;
        self.elapsed += t0.elapsed();
        Ok(())
    }
}
