fn main() { jjj_node::cli::main() }
