//! Links the kernel with its own linker script (higher-half layout, PVH note, symbol section).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
    println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    println!("cargo:rerun-if-changed=linker.ld");
    let git = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output();
    let rev = git
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    println!(
        "cargo:rustc-env=TINE_GIT_REV={}",
        rev.unwrap_or_else(|| "unknown".into())
    );
}
