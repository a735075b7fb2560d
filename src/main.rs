fn main() {
    std::process::exit(deploy::main());
}
