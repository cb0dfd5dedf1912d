fn main() -> std::process::ExitCode {
    replicate::cli::main_with_args(std::env::args_os())
}
