//! The field app's Tauri shell. Commands (in [`commands`]) convert input,
//! call the domain crates (`ehcard-store` for records, `ehcard-field` for
//! provisioning, sync and cards) and convert output to the types in
//! [`dto`], which are exported to TypeScript (`ui/src/bindings/`) by
//! `cargo test -p ehcard-app`. Errors reach the UI as [`dto::AppError`]: a
//! stable code, a message and, for bad input, the fields.

pub mod commands;
pub mod dto;
pub mod state;

use tauri::Manager;

/// Where the app keeps the store: `EHCARD_APP_DATA` (tests, a second
/// device on one machine) or the platform's app data directory.
fn data_dir(app: &tauri::App) -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("EHCARD_APP_DATA") {
        return d.into();
    }
    app.path().app_data_dir().unwrap_or_else(|_| std::path::PathBuf::from("ehcard-data"))
}

/// Where printed PDFs go: `EHCARD_APP_OUT`, or Documents/ehcard-cards.
fn out_dir(app: &tauri::App, data: &std::path::Path) -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("EHCARD_APP_OUT") {
        return d.into();
    }
    match app.path().document_dir() {
        Ok(d) => d.join("ehcard-cards"),
        Err(_) => data.join("cards"),
    }
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let result = tauri::Builder::default()
        .setup(|app| {
            let data = data_dir(app);
            let out = out_dir(app, &data);
            app.manage(state::AppState::new(data, out));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::set_lang,
            commands::provision,
            commands::unlock,
            commands::lock,
            commands::home,
            commands::search,
            commands::households,
            commands::household,
            commands::show,
            commands::set_status,
            commands::validate,
            commands::check_duplicates,
            commands::enroll,
            commands::edit,
            commands::save_draft,
            commands::load_draft,
            commands::clear_draft,
            commands::set_photo,
            commands::photo,
            commands::card_preview,
            commands::queue,
            commands::add_to_queue,
            commands::print_cards,
            commands::open_printed,
            commands::sync_now,
            commands::sync_overview,
            commands::verify_card,
            commands::scan_code,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("ehcard field app failed to start: {e}");
        std::process::exit(1);
    }
}
