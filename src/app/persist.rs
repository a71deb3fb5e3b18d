//! What the app remembers between runs (eframe storage): the view settings of each file,
//! saved when another file opens or the app closes, restored when the file opens again.
//! egui itself keeps window and panel sizes.

use std::collections::BTreeMap;
use std::path::Path;

use super::AtlasApp;
use super::scatter::Tool;
use super::state::AppState;

/// View settings remembered per file (and restored when it opens again).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FileView {
    pub color_by: Option<String>,
    pub point_scale: f32,
    pub opacity: f32,
    pub density: bool,
    pub hide_filtered: bool,
    pub tool: Tool,
    pub filters_open: bool,
    pub table_open: bool,
}

/// What the app remembers between runs.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Persisted {
    /// Per file path: its view settings.
    pub files: BTreeMap<String, FileView>,
}

/// The key a file's settings are stored under: its canonical path.
pub fn path_key(path: &Path) -> String {
    path.canonicalize()
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

impl FileView {
    /// The current view settings.
    fn of(s: &AppState) -> FileView {
        FileView {
            color_by: s.paint.color_by.clone(),
            point_scale: s.view.point_scale,
            opacity: s.view.opacity,
            density: s.view.density,
            hide_filtered: s.view.hide_filtered,
            tool: s.view.tool,
            filters_open: s.overlays.filters.open,
            table_open: s.overlays.table.open,
        }
    }

    /// Put these settings back (the colour column is chosen by the caller).
    pub fn restore(&self, s: &mut AppState) {
        s.view.point_scale = if self.point_scale > 0.0 {
            self.point_scale
        } else {
            1.0
        };
        s.view.opacity = if self.opacity > 0.0 {
            self.opacity
        } else {
            0.85
        };
        s.view.density = self.density;
        s.view.hide_filtered = self.hide_filtered;
        s.view.tool = self.tool;
        s.overlays.filters.open = self.filters_open;
        s.overlays.table.open = self.table_open;
    }
}

impl AtlasApp {
    /// Remember the current file's view settings.
    pub(super) fn remember_view(&mut self) {
        if let Some(path) = &self.state.map.path {
            let v = FileView::of(&self.state);
            self.persisted.files.insert(path_key(path), v);
        }
    }
}
