fn main() {
    std::process::exit(deploy::cli::main());
}
