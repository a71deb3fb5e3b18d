//! Keyboard shortcuts and the `?` overlay that lists them. Shortcuts are ignored while a
//! text field has the keyboard.

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};

use super::{AppCommand, AppState, Tool};

/// (keys, what they do), as the overlay shows them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("?", "show / hide this list"),
    ("/  or  Ctrl+F", "search the texts"),
    ("C  /  Shift+C", "colour by the next / previous column"),
    ("F", "show / hide the filters"),
    ("H", "hide or fade filtered-out points"),
    ("D", "density mode on / off"),
    ("V  B  L", "pan, box select, lasso select"),
    (
        "Shift+drag  /  Ctrl+drag",
        "box: add to / subtract from the selection",
    ),
    (
        "N  /  P",
        "next / previous point (in the selection, if any)",
    ),
    ("]  /  [", "next / previous sample of the same prompt"),
    ("Z", "zoom to the selection"),
    ("R  or  Home", "reset the view (also: double-click)"),
    ("T", "show / hide the selection table"),
    ("A", "analysis window"),
    ("G", "regions window (regions ranked by a metric)"),
    ("M", "show / hide the region labels on the map"),
    ("Esc", "clear the selection, then close the sample"),
    ("Ctrl+E", "export the selected rows"),
    ("Ctrl+S", "save the map as PNG"),
    ("Ctrl+O", "open a file"),
];

pub fn shortcuts(ctx: &egui::Context, state: &AppState) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let ctrl = |k| KeyboardShortcut::new(Modifiers::COMMAND, k);
    ctx.input_mut(|i| {
        if i.consume_shortcut(&ctrl(Key::O)) {
            out.push(AppCommand::OpenDialog);
        }
        if state.map.samples.is_none() {
            return;
        }
        if i.consume_shortcut(&ctrl(Key::F)) {
            out.push(AppCommand::FocusSearch);
        }
        if i.consume_shortcut(&ctrl(Key::E)) {
            out.push(AppCommand::ExportSelectionDialog);
        }
        if i.consume_shortcut(&ctrl(Key::S)) {
            out.push(AppCommand::SavePngDialog);
        }
    });
    if ctx.egui_wants_keyboard_input() || state.map.samples.is_none() {
        return out;
    }
    ctx.input(|i| {
        let plain = !(i.modifiers.command || i.modifiers.ctrl || i.modifiers.alt);
        let shift = i.modifiers.shift;
        for e in &i.events {
            match e {
                egui::Event::Text(t) if t == "?" => out.push(AppCommand::ToggleHelp),
                egui::Event::Text(t) if t == "/" => out.push(AppCommand::FocusSearch),
                egui::Event::Text(t) if t == "]" => out.push(AppCommand::StepPrompt(1)),
                egui::Event::Text(t) if t == "[" => out.push(AppCommand::StepPrompt(-1)),
                egui::Event::Key {
                    key, pressed: true, ..
                } if plain => match key {
                    Key::C => out.push(AppCommand::CycleColor(if shift { -1 } else { 1 })),
                    Key::F if !shift => out.push(AppCommand::ToggleFilters),
                    Key::H if !shift => out.push(AppCommand::ToggleHideFiltered),
                    Key::D if !shift => out.push(AppCommand::ToggleDensity),
                    Key::V if !shift => out.push(AppCommand::SetTool(Tool::Pan)),
                    Key::B if !shift => out.push(AppCommand::SetTool(Tool::Box)),
                    Key::L if !shift => out.push(AppCommand::SetTool(Tool::Lasso)),
                    Key::N if !shift => out.push(AppCommand::Step(1)),
                    Key::P if !shift => out.push(AppCommand::Step(-1)),
                    Key::Z if !shift => out.push(AppCommand::ZoomToSelection),
                    Key::R | Key::Home if !shift => out.push(AppCommand::ResetView),
                    Key::T if !shift => out.push(AppCommand::ToggleTable),
                    Key::A if !shift => out.push(AppCommand::ToggleAnalysis),
                    Key::G if !shift => out.push(AppCommand::ToggleRegions),
                    Key::M if !shift => out.push(AppCommand::ToggleRegionLabels),
                    Key::Escape => {
                        if state.overlays.show_help {
                            out.push(AppCommand::ToggleHelp);
                        } else if state.focus.selection.is_some() {
                            out.push(AppCommand::ClearSelection);
                        } else if state.focus.selected.is_some() {
                            out.push(AppCommand::Select(None));
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    });
    out
}

/// The `?` overlay.
pub fn help_window(ctx: &egui::Context) -> Vec<AppCommand> {
    let mut out = Vec::new();
    let mut open = true;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    for (keys, what) in SHORTCUTS {
                        ui.monospace(*keys);
                        ui.label(*what);
                        ui.end_row();
                    }
                });
        });
    if !open {
        out.push(AppCommand::ToggleHelp);
    }
    out
}
