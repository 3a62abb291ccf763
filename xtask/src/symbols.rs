//! Post-link step: embed the kernel's symbol table into its own `.ksyms` section.
//!
//! The kernel reserves a fixed-size, zero-filled `.ksyms` section (PROGBITS, so it occupies bytes
//! in the file and is loaded with the image). After linking, [`patch_symbols`] reads the ELF's
//! function symbols, demangles them, encodes them with [`ksym::encode`] and overwrites the section
//! contents in the file. Patching changes no sizes or addresses, so the symbols stay valid.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use object::elf;
use object::read::elf::{ElfFile64, Sym};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};

/// Name of the section the kernel reserves for the table.
pub const SECTION: &str = ".ksyms";

/// Defined function symbols of `file` as `(address, size, demangled name)`.
fn function_symbols(file: &ElfFile64<'_, Endianness>) -> Vec<(u64, u64, String)> {
    let endian = file.endian();
    let mut out = Vec::new();
    for symbol in file.symbols() {
        let raw = symbol.elf_symbol();
        if raw.st_type() != elf::STT_FUNC || raw.is_undefined(endian) {
            continue;
        }
        let addr = symbol.address();
        if addr == 0 {
            continue;
        }
        let Ok(mangled) = symbol.name_bytes() else {
            continue;
        };
        let mangled = String::from_utf8_lossy(mangled);
        // `{:#}` leaves out the `::h<hash>` suffix (legacy) and disambiguators (v0); names that
        // are not Rust-mangled come back unchanged.
        let name = format!("{:#}", rustc_demangle::demangle(&mangled));
        out.push((addr, symbol.size(), name));
    }
    out
}

/// Reads the ELF at `path`, collects its defined `STT_FUNC` symbols with a nonzero address from
/// `.symtab`, demangles them (without hashes), encodes them with [`ksym::encode`] and writes the
/// table into the file at the offset of the `.ksyms` section. The rest of the section is zeroed,
/// so patching the same file again is harmless.
///
/// Returns `(symbol count, bytes used, section size)`; the count is after merging symbols that
/// share a start address.
pub fn patch_symbols(path: &Path) -> Result<(usize, usize, usize), String> {
    let shown = path.display();
    let data = std::fs::read(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let file = ElfFile64::<Endianness>::parse(&*data)
        .map_err(|e| format!("{shown}: not a 64-bit ELF file: {e}"))?;

    let section = file
        .section_by_name(SECTION)
        .ok_or_else(|| format!("{shown}: no {SECTION} section (the kernel must reserve one)"))?;
    let section_size = usize::try_from(section.size())
        .map_err(|_| format!("{shown}: {SECTION} section size does not fit in memory"))?;
    let (offset, file_size) = section.file_range().ok_or_else(|| {
        format!(
            "{shown}: {SECTION} section is NOBITS (it has no bytes in the file); \
             give it initialized contents so it is PROGBITS"
        )
    })?;
    if file_size != section.size() {
        return Err(format!(
            "{shown}: {SECTION} section has an inconsistent file size"
        ));
    }
    let end = offset.checked_add(file_size);
    if end.is_none_or(|end| end > data.len() as u64) {
        return Err(format!("{shown}: {SECTION} section lies outside the file"));
    }

    let symbols = function_symbols(&file);
    let borrowed: Vec<(u64, u64, &str)> = symbols
        .iter()
        .map(|(addr, size, name)| (*addr, *size, name.as_str()))
        .collect();
    let table = ksym::encode(&borrowed);
    if table.len() > section_size {
        return Err(format!(
            "{shown}: symbol table needs {} bytes ({} symbols) but {SECTION} is only {} bytes; \
             reserve at least {} bytes",
            table.len(),
            symbols.len(),
            section_size,
            table.len()
        ));
    }
    let count = ksym::SymbolTable::parse(&table)
        .ok_or_else(|| "internal error: the encoded symbol table does not decode".to_string())?
        .len();
    let used = table.len();
    drop(file);
    drop(data);

    let mut contents = table;
    contents.resize(section_size, 0);
    let mut out = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("{shown}: cannot open for writing: {e}"))?;
    out.seek(SeekFrom::Start(offset))
        .and_then(|_| out.write_all(&contents))
        .and_then(|()| out.flush())
        .map_err(|e| format!("{shown}: cannot write {SECTION}: {e}"))?;
    Ok((count, used, section_size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tine-ksym-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Compiles and links `source` (C) into a static, libc-free executable. A missing or broken
    /// C compiler fails the test (gcc is a prerequisite the README lists and xtask installs).
    fn build_elf(scratch: &Scratch, source: &str) -> PathBuf {
        let c = scratch.0.join("kernel.c");
        let exe = scratch.0.join("kernel.elf");
        std::fs::write(&c, source).unwrap();
        let status = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()))
            .args(["-O1", "-fno-pie", "-no-pie", "-nostdlib", "-static", "-o"])
            .arg(&exe)
            .arg(&c)
            .status();
        match status {
            Ok(status) if status.success() => exe,
            Ok(status) => panic!("cc failed with {status}"),
            Err(e) => panic!("cannot run cc: {e}"),
        }
    }

    const KERNEL: &str = r#"
        __attribute__((section(".ksyms"), used)) char ksyms[65536] = {1};

        /* A legacy-mangled Rust name: demangles to tine::kernel::helper with the hash dropped. */
        __attribute__((noinline, used)) int helper(int x) __asm__("_ZN4tine6kernel6helper17h0123456789abcdefE");
        __attribute__((noinline, used)) int helper(int x) { return x * 3 + 1; }

        __attribute__((noinline, used)) static int local_fn(int x) { return helper(x) ^ 5; }

        void _start(void) {
            volatile int sink = 0;
            for (;;) sink = local_fn(sink);
        }
    "#;

    #[test]
    fn patches_and_symbolizes_a_real_elf() {
        let scratch = Scratch::new();
        let exe = build_elf(&scratch, KERNEL);
        let (count, used, size) = patch_symbols(&exe).expect("patch");
        assert_eq!(size, 65536);
        assert!(count >= 3, "count {count}");
        assert!(used > ksym::HEADER_LEN && used <= size);

        // Read the section back out of the patched file.
        let data = std::fs::read(&exe).unwrap();
        let file = ElfFile64::<Endianness>::parse(&*data).unwrap();
        let section = file.section_by_name(SECTION).unwrap();
        let bytes = section.data().unwrap();
        assert!(bytes[used..].iter().all(|&b| b == 0), "tail zeroed");
        let table = ksym::SymbolTable::parse(bytes).expect("patched table parses");
        assert_eq!(table.len(), count);

        let expected = |name: &str| {
            file.symbols()
                .find(|s| s.name() == Ok(name))
                .map(|s| (s.address(), s.size()))
                .unwrap_or_else(|| panic!("{name} in .symtab"))
        };
        let (helper, helper_size) = expected("_ZN4tine6kernel6helper17h0123456789abcdefE");
        let (start, _) = expected("_start");
        let (local, _) = expected("local_fn");

        assert_eq!(table.address_of("tine::kernel::helper"), Some(helper));
        assert_eq!(table.address_of("_start"), Some(start));
        assert_eq!(table.address_of("local_fn"), Some(local));
        assert_eq!(table.lookup(helper), Some(("tine::kernel::helper", 0)));
        assert!(helper_size > 1);
        assert_eq!(
            table.lookup(helper + helper_size - 1),
            Some(("tine::kernel::helper", helper_size - 1))
        );
        assert_eq!(table.lookup(start + 1), Some(("_start", 1)));
        // Data symbols are not functions.
        assert_eq!(table.address_of("ksyms"), None);

        // Patching again gives the same result.
        assert_eq!(patch_symbols(&exe).unwrap(), (count, used, size));
        assert_eq!(std::fs::read(&exe).unwrap(), data);
    }

    #[test]
    fn missing_section_is_an_error() {
        let scratch = Scratch::new();
        let exe = build_elf(&scratch, "void _start(void) { for (;;) {} }");
        let err = patch_symbols(&exe).unwrap_err();
        assert!(err.contains("no .ksyms section"), "{err}");
    }

    #[test]
    fn nobits_section_is_an_error() {
        let scratch = Scratch::new();
        let source = r#"
            __asm__(".section .ksyms,\"aw\",@nobits\n.skip 4096\n.text");
            void _start(void) { for (;;) {} }
        "#;
        let exe = build_elf(&scratch, source);
        let err = patch_symbols(&exe).unwrap_err();
        assert!(err.contains("NOBITS"), "{err}");
    }

    #[test]
    fn too_small_section_reports_needed_size() {
        let scratch = Scratch::new();
        let source = r#"
            __attribute__((section(".ksyms"), used)) char ksyms[16] = {1};
            void _start(void) { for (;;) {} }
        "#;
        let exe = build_elf(&scratch, source);
        let before = std::fs::read(&exe).unwrap();
        let err = patch_symbols(&exe).unwrap_err();
        assert!(err.contains("only 16 bytes"), "{err}");
        assert!(err.contains("reserve at least"), "{err}");
        assert_eq!(
            std::fs::read(&exe).unwrap(),
            before,
            "file untouched on error"
        );
    }

    #[test]
    fn non_elf_is_an_error() {
        let scratch = Scratch::new();
        let path = scratch.0.join("not-elf");
        std::fs::write(&path, b"hello").unwrap();
        assert!(
            patch_symbols(&path)
                .unwrap_err()
                .contains("not a 64-bit ELF")
        );
        assert!(
            patch_symbols(&scratch.0.join("absent"))
                .unwrap_err()
                .contains("cannot read")
        );
    }
}
