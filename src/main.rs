fn main() -> std::process::ExitCode {
    liverec::cli::main()
}
