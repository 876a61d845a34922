//! Sensory input frames (values in [0, 1], row-major over the sensory grid): the synthetic
//! patterns and images (MODEL.md 5.2).
//!
//! Images are decoded once, when the input is created, so that a missing file, an
//! undecodable one or a frame of the wrong size stops the run before its first step. Colour
//! is reduced to luminance (`Y = 0.2126 R + 0.7152 G + 0.0722 B` of the channel values in
//! [0, 1], summed in that order); grey images are read as they are.

use crate::config::{Params, Pattern};
use crate::rng::{uniform, Rng, Stream};
use std::path::{Path, PathBuf};

/// Why an input could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file or directory could not be read.
    #[error("cannot read input {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not an image this build decodes.
    #[error("cannot decode input image {path}: {message}")]
    Decode {
        /// The path.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// A frame does not match the sensory grid.
    #[error(
        "input image {path} is {width}x{height} pixels but the sensory grid is {grid_width}x{grid_height} \
         (graph.sensory_width x graph.sensory_height); resize the image or set input.resize = true"
    )]
    Size {
        /// The path.
        path: PathBuf,
        /// The image's width.
        width: u32,
        /// The image's height.
        height: u32,
        /// The grid's width.
        grid_width: u32,
        /// The grid's height.
        grid_height: u32,
    },
    /// A directory holds something other than images.
    #[error("{path} is not a PNG or JPEG image (every file of an input directory is played as a frame)")]
    NotAnImage {
        /// The path.
        path: PathBuf,
    },
    /// A directory holds no image.
    #[error("input directory {path} holds no PNG or JPEG image")]
    Empty {
        /// The path.
        path: PathBuf,
    },
}

#[derive(Debug, Clone)]
enum Source {
    MovingBar { bar_width: u32 },
    Constant(f32),
    Checkerboard { square: u32, flip_every: u32 },
    Noise(Rng),
    Frames { frames: Vec<Vec<f32>>, frame_steps: u32 },
}

/// An input source: the frame of every step.
#[derive(Debug, Clone)]
pub struct Input {
    source: Source,
    width: u32,
    height: u32,
}

impl Input {
    /// The source the configuration's `[input]` section describes (images are decoded now).
    pub fn from_params(params: &Params) -> Result<Self, InputError> {
        let i = &params.input;
        let (width, height) = (params.graph.sensory_width, params.graph.sensory_height);
        let source = match i.pattern {
            Pattern::MovingBar => Source::MovingBar { bar_width: i.bar_width },
            Pattern::Constant => Source::Constant(i.value),
            Pattern::Checkerboard => Source::Checkerboard { square: i.square.max(1), flip_every: i.flip_every },
            Pattern::Noise => Source::Noise(Rng::new(params.run.seed)),
            Pattern::Image => Source::Frames {
                frames: load_frames(Path::new(&i.path), width, height, i.resize)?,
                frame_steps: i.frame_steps.max(1),
            },
        };
        Ok(Self { source, width, height })
    }

    /// Number of image frames (0 for a synthetic pattern).
    pub fn frames(&self) -> usize {
        match &self.source {
            Source::Frames { frames, .. } => frames.len(),
            _ => 0,
        }
    }

    /// Write the frame of `step` into `frame` (resized to the grid).
    pub fn fill(&self, step: u64, frame: &mut Vec<f32>) {
        let (w, h) = (self.width as usize, self.height as usize);
        frame.clear();
        frame.resize(w * h, 0.0);
        if w == 0 {
            return;
        }
        match &self.source {
            Source::Constant(v) => frame.fill(*v),
            Source::MovingBar { bar_width } => {
                let start = (step % w as u64) as usize;
                for y in 0..h {
                    for dx in 0..(*bar_width as usize).min(w) {
                        frame[y * w + (start + dx) % w] = 1.0;
                    }
                }
            }
            Source::Checkerboard { square, flip_every } => {
                let s = *square as usize;
                let flipped = *flip_every > 0 && (step / u64::from(*flip_every)) % 2 == 1;
                for (p, v) in frame.iter_mut().enumerate() {
                    let (x, y) = (p % w, p / w);
                    let on = ((x / s + y / s) % 2 == 0) != flipped;
                    *v = if on { 1.0 } else { 0.0 };
                }
            }
            Source::Noise(rng) => {
                for (p, v) in frame.iter_mut().enumerate() {
                    *v = uniform(rng.words(step, Stream::InputNoise, p as u64, 0)[0]);
                }
            }
            Source::Frames { frames, frame_steps } => {
                let n = frames.len() as u64;
                if n > 0 {
                    let k = (step / u64::from(*frame_steps)) % n;
                    frame.copy_from_slice(&frames[k as usize]);
                }
            }
        }
    }
}

fn is_image_name(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["png", "jpg", "jpeg"].contains(&e.to_ascii_lowercase().as_str()))
}

/// The frames of an image file, or of every image of a directory in file-name order.
fn load_frames(path: &Path, width: u32, height: u32, resize: bool) -> Result<Vec<Vec<f32>>, InputError> {
    let meta = std::fs::metadata(path).map_err(|source| InputError::Read { path: path.into(), source })?;
    if !meta.is_dir() {
        return Ok(vec![load_image(path, width, height, resize)?]);
    }
    let mut files = Vec::new();
    let entries = std::fs::read_dir(path).map_err(|source| InputError::Read { path: path.into(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| InputError::Read { path: path.into(), source })?;
        let p = entry.path();
        let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden || p.is_dir() {
            continue;
        }
        if !is_image_name(&p) {
            return Err(InputError::NotAnImage { path: p });
        }
        files.push(p);
    }
    if files.is_empty() {
        return Err(InputError::Empty { path: path.into() });
    }
    files.sort();
    files.iter().map(|f| load_image(f, width, height, resize)).collect()
}

/// One image as luminance values in [0, 1], row-major.
fn load_image(path: &Path, width: u32, height: u32, resize: bool) -> Result<Vec<f32>, InputError> {
    let decode = |message: String| InputError::Decode { path: path.into(), message };
    let img = image::ImageReader::open(path)
        .map_err(|source| InputError::Read { path: path.into(), source })?
        .with_guessed_format()
        .map_err(|source| InputError::Read { path: path.into(), source })?
        .decode()
        .map_err(|e| decode(e.to_string()))?;
    if (img.width(), img.height()) != (width, height) && !resize {
        return Err(InputError::Size {
            path: path.into(),
            width: img.width(),
            height: img.height(),
            grid_width: width,
            grid_height: height,
        });
    }
    let img = if (img.width(), img.height()) != (width, height) {
        img.resize_exact(width, height, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let values: Vec<f32> = if img.color().has_color() {
        img.to_rgb32f().pixels().map(|p| luminance(p.0)).collect()
    } else {
        img.to_luma32f().pixels().map(|p| p.0[0]).collect()
    };
    Ok(values.into_iter().map(|v| v.clamp(0.0, 1.0)).collect())
}

/// MODEL.md 5.2's luminance of channel values in [0, 1].
pub fn luminance([r, g, b]: [f32; 3]) -> f32 {
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn input(edit: impl FnOnce(&mut Config)) -> Result<Input, InputError> {
        let mut c = Config::default();
        c.graph.sensory_width = 10;
        c.graph.sensory_height = 2;
        c.graph.n_dynamic = 10;
        edit(&mut c);
        Input::from_params(&c.validate().expect("valid"))
    }

    #[test]
    fn moving_bar_starts_at_column_zero_and_wraps() {
        let i = input(|c| c.input.bar_width = 3).expect("input");
        let mut f = Vec::new();
        i.fill(0, &mut f);
        assert_eq!(&f[..10], &[1., 1., 1., 0., 0., 0., 0., 0., 0., 0.]);
        i.fill(8, &mut f);
        assert_eq!(&f[10..], &[1., 0., 0., 0., 0., 0., 0., 0., 1., 1.]);
    }

    #[test]
    fn checkerboard_squares_and_flips() {
        let i = input(|c| {
            c.input.pattern = Pattern::Checkerboard;
            c.input.square = 2;
            c.input.flip_every = 5;
        })
        .expect("input");
        let mut f = Vec::new();
        i.fill(4, &mut f);
        assert_eq!(&f[..10], &[1., 1., 0., 0., 1., 1., 0., 0., 1., 1.]);
        i.fill(5, &mut f);
        assert_eq!(&f[..10], &[0., 0., 1., 1., 0., 0., 1., 1., 0., 0.]);
        i.fill(10, &mut f);
        assert_eq!(f[0], 1.0);
    }

    #[test]
    fn noise_is_in_range_reproducible_and_changes_each_step() {
        let i = input(|c| c.input.pattern = Pattern::Noise).expect("input");
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        i.fill(3, &mut a);
        i.fill(3, &mut b);
        i.fill(4, &mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|v| (0.0..1.0).contains(v)));
    }

    fn write_png(path: &Path, w: u32, h: u32, rgb: bool) {
        if rgb {
            let img = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([255, if x == 0 { 255 } else { 0 }, 0]));
            img.save(path).expect("png");
        } else {
            let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([(x * 20 + y) as u8]));
            img.save(path).expect("png");
        }
    }

    #[test]
    fn images_as_luminance_in_name_order_each_for_frame_steps() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_png(&dir.path().join("b.png"), 10, 2, true);
        write_png(&dir.path().join("a.png"), 10, 2, false);
        let i = input(|c| {
            c.input.pattern = Pattern::Image;
            c.input.path = dir.path().display().to_string();
            c.input.frame_steps = 2;
        })
        .expect("input");
        assert_eq!(i.frames(), 2);
        let mut f = Vec::new();
        i.fill(1, &mut f);
        assert_eq!(f[1], 20.0 / 255.0);
        assert_eq!(f[10], 1.0 / 255.0);
        i.fill(2, &mut f);
        assert_eq!(f[0], luminance([1.0, 1.0, 0.0]));
        assert_eq!(f[1], luminance([1.0, 0.0, 0.0]));
        i.fill(4, &mut f);
        assert_eq!(f[1], 20.0 / 255.0);
    }

    #[test]
    fn a_frame_of_the_wrong_size_names_both_sizes_unless_resized() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("big.png");
        write_png(&p, 12, 3, false);
        let e = input(|c| {
            c.input.pattern = Pattern::Image;
            c.input.path = p.display().to_string();
        })
        .expect_err("wrong size");
        let m = e.to_string();
        assert!(m.contains("is 12x3 pixels but the sensory grid is 10x2"), "{m}");
        let i = input(|c| {
            c.input.pattern = Pattern::Image;
            c.input.path = p.display().to_string();
            c.input.resize = true;
        })
        .expect("resized");
        let mut f = Vec::new();
        i.fill(0, &mut f);
        assert_eq!(f.len(), 20);
    }

    #[test]
    fn bad_directories_and_files_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let with = |p: &Path| {
            let s = p.display().to_string();
            input(move |c| {
                c.input.pattern = Pattern::Image;
                c.input.path = s;
            })
            .expect_err("bad input")
            .to_string()
        };
        assert!(with(dir.path()).contains("holds no PNG or JPEG image"));
        std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
        assert!(with(dir.path()).contains("notes.txt is not a PNG or JPEG image"));
        let fake = dir.path().join("fake.png");
        std::fs::write(&fake, "not a png").expect("write");
        assert!(with(&fake).contains("cannot decode input image"));
        assert!(with(&dir.path().join("missing.png")).contains("cannot read input"));
    }
}
