//! The in-kernel test registry. `ktest!` defines a test function and places a descriptor for
//! it in the `.ktests` linker section; a test build of the kernel walks the section and runs
//! them. A test fails by panicking; the runner (kernel) reports which one and xtask boots again
//! from the next test, so one failure does not hide the rest.

/// One registered test.
#[repr(C)]
pub struct KTest {
    pub name: &'static str,
    pub func: fn(),
}

/// Define an in-kernel test:
/// ```ignore
/// hal::ktest!(fn frames_do_not_overlap() { assert!(...) });
/// ```
#[macro_export]
macro_rules! ktest {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        fn $name() $body
        const _: () = {
            #[unsafe(link_section = ".ktests")]
            #[used]
            static DESCRIPTOR: $crate::ktest::KTest = $crate::ktest::KTest {
                name: concat!(module_path!(), "::", stringify!($name)),
                func: $name,
            };
        };
    };
}

unsafe extern "C" {
    static __ktests_start: [u64; 0];
    static __ktests_end: [u64; 0];
}

/// Every registered test, in link order.
pub fn all() -> &'static [KTest] {
    let start = core::ptr::addr_of!(__ktests_start) as *const KTest;
    let end = core::ptr::addr_of!(__ktests_end) as *const KTest;
    let n = (end as usize - start as usize) / core::mem::size_of::<KTest>();
    // SAFETY: the linker script brackets `.ktests`, which holds only `KTest` descriptors
    // emitted by `ktest!` (aligned, initialised, read-only for the kernel's lifetime).
    unsafe { core::slice::from_raw_parts(start, n) }
}
