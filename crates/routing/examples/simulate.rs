//! Runs a scenario against settings and prints the timeline, until `ringbase simulate` exists:
//! `cargo run -p routing --example simulate -- SETTINGS.toml SCENARIO.toml [--json|--verbose]`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(settings), Some(scenario)) = (args.first(), args.get(1)) else {
        eprintln!("usage: simulate SETTINGS.toml SCENARIO.toml [--json|--verbose]");
        return ExitCode::from(2);
    };
    let read =
        |path: &str| std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"));
    let result = read(settings).and_then(|settings| {
        read(scenario).and_then(|scenario| {
            routing::run_scenario(&settings, &scenario).map_err(|error| error.to_string())
        })
    });
    match result {
        Ok(timeline) => {
            let text = match args.get(2).map(String::as_str) {
                Some("--json") => timeline.to_json_lines(),
                Some("--verbose") => timeline.to_text_verbose(),
                _ => timeline.to_text(),
            };
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
