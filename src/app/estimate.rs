//! How long the transformer embedder would take on the open set, shown beside the embedder
//! choice before the user starts it: the model is loaded and a sample of the texts embedded
//! and timed on a worker thread (never on the UI thread). When a transformer model is
//! installed but not chosen, the panel offers it with the same estimate.

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui::{self, RichText};

use super::AppCommand;
use super::background::Task;
use crate::dataset::Samples;
use crate::embedding::TransformerEmbedder;
use crate::pipeline::{MapParams, VectorSource};

/// An estimate for one (model folder, sample set).
#[derive(Clone, Debug, PartialEq)]
pub enum Estimate {
    /// Seconds for all the set's texts.
    Seconds(f64),
    /// The folder is not a model we can run (the file and the problem).
    Invalid(String),
}

#[derive(Default)]
pub struct EstimateState {
    /// A transformer model installed in the data directory (looked up once at start).
    pub installed: Option<PathBuf>,
    /// What the shown (or running) estimate is for: folder and set (by its text list).
    key: Option<(PathBuf, usize)>,
    task: Task<Estimate>,
    pub value: Option<Estimate>,
}

impl EstimateState {
    pub fn new(installed: Option<PathBuf>) -> EstimateState {
        EstimateState {
            installed,
            ..Default::default()
        }
    }

    /// The folder an estimate is wanted for: the chosen transformer, else the installed one.
    fn wanted(&self, params: &MapParams) -> Option<PathBuf> {
        match &params.vectors {
            VectorSource::Transformer(dir) if !dir.as_os_str().is_empty() => Some(dir.clone()),
            VectorSource::Transformer(_) => None,
            _ => self.installed.clone(),
        }
    }

    /// Start (or collect) the estimate for the current choice and set; call every frame.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        params: &MapParams,
        samples: Option<&Arc<Samples>>,
    ) {
        if let Some(v) = self.task.poll_outcome() {
            self.value = Some(v.unwrap_or_else(Estimate::Invalid));
        }
        let (Some(dir), Some(samples)) = (self.wanted(params), samples) else {
            return;
        };
        let key = (dir.clone(), Arc::as_ptr(&samples.texts) as usize);
        if self.key.as_ref() == Some(&key) {
            return;
        }
        self.key = Some(key);
        self.value = None;
        let texts = samples.texts.clone();
        self.task
            .start(ctx, false, move || match TransformerEmbedder::load(&dir) {
                Ok(model) => Estimate::Seconds(model.estimate_seconds(&texts)),
                Err(e) => Estimate::Invalid(e.to_string()),
            });
    }

    pub fn busy(&self) -> bool {
        self.task.busy()
    }
}

/// The estimate line under the embedder choice, and the offer of an installed model.
pub fn rows(
    ui: &mut egui::Ui,
    est: &EstimateState,
    params: &MapParams,
    texts: usize,
) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let chosen = matches!(params.vectors, VectorSource::Transformer(_));
    let words = match &est.value {
        Some(Estimate::Seconds(s)) => Some(format!(
            "≈ {} for {} texts on this machine",
            crate::util::format::duration_words(*s),
            crate::util::format::thousands(texts)
        )),
        _ => None,
    };
    if chosen {
        match (&est.value, est.busy()) {
            (Some(Estimate::Invalid(e)), _) => {
                ui.label(RichText::new(e).color(ui.visuals().error_fg_color));
            }
            (_, true) => {
                ui.label(RichText::new("estimating the embedding time…").weak());
            }
            _ => {
                if let Some(w) = words {
                    ui.label(RichText::new(w).weak());
                }
            }
        }
    } else if let (Some(dir), Some(w)) = (&est.installed, words) {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        ui.label(format!("A better embedder is installed: {name} ({w})."));
        if ui.button(format!("Use {name}")).clicked() {
            let mut p = params.clone();
            p.vectors = VectorSource::Transformer(dir.clone());
            out.push(AppCommand::SetParams(p));
        }
    }
    out
}
