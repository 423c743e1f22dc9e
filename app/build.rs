// `sqlx::migrate!` reads the migrations when this crate compiles; without this, a new migration
// file alone would not make Cargo compile it again and the binary would miss it.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
