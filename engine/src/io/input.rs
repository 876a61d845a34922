//! Sensory input frames (values in [0, 1], row-major over the sensory grid).

use crate::config::{Params, Pattern};

/// A synthetic input source.
#[derive(Debug, Clone)]
pub struct Input {
    pattern: Pattern,
    width: u32,
    height: u32,
    bar_width: u32,
    value: f32,
}

impl Input {
    /// The source the configuration's `[input]` section describes.
    pub fn from_params(params: &Params) -> Self {
        Self {
            pattern: params.input.pattern,
            width: params.graph.sensory_width,
            height: params.graph.sensory_height,
            bar_width: params.input.bar_width,
            value: params.input.value,
        }
    }
    /// Write the frame of `step` into `frame` (resized to the grid).
    pub fn fill(&self, step: u64, frame: &mut Vec<f32>) {
        let (w, h) = (self.width as usize, self.height as usize);
        frame.clear();
        frame.resize(w * h, 0.0);
        match self.pattern {
            Pattern::Constant => frame.fill(self.value),
            Pattern::MovingBar => {
                if w == 0 {
                    return;
                }
                let start = (step % w as u64) as usize;
                for y in 0..h {
                    for dx in 0..(self.bar_width as usize).min(w) {
                        frame[y * w + (start + dx) % w] = 1.0;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn moving_bar_starts_at_column_zero_and_wraps() {
        let mut c = Config::default();
        c.graph.sensory_width = 10;
        c.graph.sensory_height = 2;
        c.input.bar_width = 3;
        let p = c.validate().expect("valid");
        let i = Input::from_params(&p);
        let mut f = Vec::new();
        i.fill(0, &mut f);
        assert_eq!(&f[..10], &[1., 1., 1., 0., 0., 0., 0., 0., 0., 0.]);
        i.fill(8, &mut f);
        assert_eq!(&f[10..], &[1., 0., 0., 0., 0., 0., 0., 0., 1., 1.]);
    }
}
