//! The EAL: started once per process from [`EalArgs`], stopped when the last handle goes.
//!
//! # Invariants
//! * `rte_eal_init` runs at most once per process ([`STARTED`]); a second [`Eal::init`] is
//!   refused, even after the first failed (DPDK cannot be initialised twice).
//! * While it runs, DPDK's log goes to a memory stream and its usage text (printed on a bad
//!   option) to nowhere: a failure becomes one [`DpdkError::EalInit`] naming DPDK's reason,
//!   never a page of usage. After init DPDK logs to stderr as usual.
//! * `rte_eal_cleanup` runs when the last [`Eal`] clone drops. Ports and mempools hold a
//!   clone, so the EAL outlives every object allocated from it.

use std::{
    ffi::{CString, c_char, c_int},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tracing::{debug, warn};

use crate::{DpdkError, EalArgs, args::Memory, error};

/// Set by the first [`Eal::init`].
static STARTED: AtomicBool = AtomicBool::new(false);

/// A handle on the running EAL. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Eal(Arc<EalInner>);

#[derive(Debug)]
struct EalInner {
    /// DPDK's log during init, line by line.
    log: Vec<String>,
}

impl Drop for EalInner {
    fn drop(&mut self) {
        // SAFETY: the last handle is gone, so no port, queue or mempool of this EAL is left
        // (each holds a handle); no DPDK call can follow.
        let rc = unsafe { dpdk_sys::rte_eal_cleanup() };
        if rc != 0 {
            warn!(error = %error::strerror(-rc), "rte_eal_cleanup failed");
        }
    }
}

impl Eal {
    /// Starts the EAL. See the module documentation.
    pub fn init(args: &EalArgs) -> Result<Eal, DpdkError> {
        let argv = args
            .to_argv()
            .into_iter()
            .map(|arg| {
                CString::new(arg.clone()).map_err(|_| DpdkError::BadArgument {
                    arg,
                    reason: "holds a NUL byte",
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_huge_dir(&args.memory)?;
        if STARTED.swap(true, Ordering::SeqCst) {
            return Err(DpdkError::AlreadyInitialised);
        }
        let affinity = rustix::thread::sched_getaffinity(None).ok();
        let ((rc, errno), log) = capture(|| {
            let mut ptrs: Vec<*mut c_char> = argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
            let argc = c_int::try_from(ptrs.len()).expect("a short argument list");
            // SAFETY: argv points at `argc` NUL-terminated strings that outlive the call
            // (DPDK may keep pointers into them: `argv` lives until the function returns and
            // DPDK copies what it keeps in 22.11). The EAL was never started (STARTED).
            let rc = unsafe { dpdk_sys::rte_eal_init(argc, ptrs.as_mut_ptr()) };
            (rc, error::rte_errno())
        });
        if let Some(set) = affinity {
            // The EAL pins the calling thread to the main lcore; the control thread that
            // called us should run where it ran before.
            let _ = rustix::thread::sched_setaffinity(None, &set);
        }
        if rc < 0 {
            return Err(init_error(args, errno, &log));
        }
        for line in &log {
            debug!(target: "dpdk", "{line}");
        }
        Ok(Eal(Arc::new(EalInner { log })))
    }

    /// The lines DPDK logged during init that report a failure (a device that failed to
    /// probe, say), joined; `None` if none did.
    pub fn init_failures(&self) -> Option<String> {
        let failures: Vec<&str> = self
            .0
            .log
            .iter()
            .map(String::as_str)
            .filter(|line| is_failure(line))
            .collect();
        (!failures.is_empty()).then(|| failures.join("; "))
    }

    /// Creates a virtual device after init: `spec` is `driver<n>[,key=value…]`.
    pub fn vdev_init(&self, spec: &str) -> Result<(), DpdkError> {
        let (name, args) = spec.split_once(',').unwrap_or((spec, ""));
        let bad = |reason: &str| DpdkError::Vdev {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let name = CString::new(name).map_err(|_| bad("holds a NUL byte"))?;
        let args = CString::new(args).map_err(|_| bad("holds a NUL byte"))?;
        // SAFETY: both strings are NUL-terminated and live across the call; the EAL runs.
        let rc = unsafe { dpdk_sys::rte_vdev_init(name.as_ptr(), args.as_ptr()) };
        if rc < 0 {
            return Err(bad(&error::strerror(-rc)));
        }
        Ok(())
    }
}

/// Registers the calling thread with the EAL once (a non-EAL lcore, so mempool caches work
/// on it); it is unregistered when the thread ends. Failure (no lcore left) is logged once
/// per thread: the thread still works, without a mempool cache.
pub fn register_thread() {
    thread_local! {
        static REGISTERED: Registration = Registration::new();
    }
    REGISTERED.with(|_| {});
}

struct Registration(bool);

impl Registration {
    fn new() -> Self {
        // SAFETY: registers the calling thread; only called once per thread (thread local).
        let rc = unsafe { dpdk_sys::rte_thread_register() };
        if rc < 0 {
            warn!(error = %error::strerror(error::rte_errno()), "rte_thread_register failed");
        }
        Registration(rc == 0)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.0 {
            // SAFETY: this thread registered itself and is ending.
            unsafe { dpdk_sys::rte_thread_unregister() }
        }
    }
}

/// `statfs` type of a hugetlbfs mount.
const HUGETLBFS_MAGIC: u64 = 0x9584_58f6;

/// Refuses a hugepage directory that is not a hugetlbfs mount. The EAL does not: given one, it
/// quietly takes its memory from whatever other hugetlbfs mount the machine has, so the
/// operator's choice would be ignored (or the start would fail later with a vaguer reason).
fn check_huge_dir(memory: &Memory) -> Result<(), DpdkError> {
    let Memory::Hugepages { dir: Some(dir) } = memory else {
        return Ok(());
    };
    let reason = match rustix::fs::statfs(dir.as_path()) {
        Ok(fs) if fs.f_type as u64 == HUGETLBFS_MAGIC => return Ok(()),
        Ok(_) => format!(
            "hugepage directory {} is not a hugetlbfs mount",
            dir.display()
        ),
        Err(e) => format!("hugepage directory {}: {e}", dir.display()),
    };
    Err(DpdkError::EalInit {
        reason,
        hint: Some(
            "reserve and mount hugepages with `scripts/hugepages.sh reserve --mount DIR`, or run without them (--dpdk-no-huge)",
        ),
    })
}

/// True for a log line that reports a failure.
fn is_failure(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    [
        "fail",
        "error",
        "cannot",
        "invalid",
        "unable",
        "not compatible",
        "no such",
        "unrecognized",
        "unknown",
    ]
    .iter()
    .any(|w| lower.contains(w))
        && !lower.contains("exiting with code")
}

/// One error for a failed `rte_eal_init`: DPDK's own failure lines, or `rte_strerror`.
fn init_error(args: &EalArgs, errno: i32, log: &[String]) -> DpdkError {
    let mut lines: Vec<&str> = Vec::new();
    for line in log.iter().filter(|l| !l.starts_with(char::is_whitespace)) {
        let line = line.trim();
        let line = line
            .strip_prefix(args.program.as_str())
            .map_or(line, |l| l.trim_start_matches(": "));
        let line = line
            .trim_start_matches("EAL: ")
            .trim_start_matches("FATAL: ");
        if is_failure(line) && !lines.contains(&line) {
            lines.push(line);
        }
    }
    let reason = if lines.is_empty() {
        error::strerror(errno)
    } else {
        lines.join("; ")
    };
    let lower = reason.to_ascii_lowercase();
    let hint = if lower.contains("hugepage") && matches!(args.memory, Memory::Hugepages { .. }) {
        Some(
            "reserve hugepages with `scripts/hugepages.sh reserve`, or run without them (--dpdk-no-huge)",
        )
    } else if lower.contains("parse device") || lower.contains("driver") {
        Some(
            "check the --dpdk-vdev / --dpdk-allow strings: `driver<n>,key=value,…` or a PCI address",
        )
    } else if lower.contains("lock") || lower.contains("in use") {
        Some("another DPDK process uses this file prefix: give each its own --dpdk-file-prefix")
    } else if lower.contains("lcore") || lower.contains("core") {
        Some("the main lcore must be a core this process may run on")
    } else {
        None
    };
    DpdkError::EalInit { reason, hint }
}

/// Runs `f` with DPDK's log in a memory stream and stdout and stderr in a memory file
/// (DPDK prints its usage, getopt's complaints and its FATAL lines there); returns `f`'s
/// result and every line of both.
fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let mut buf: *mut c_char = std::ptr::null_mut();
    let mut size: libc::size_t = 0;
    // SAFETY: open_memstream writes the buffer pointer and size into the two locals, which
    // outlive the stream (it is closed below before they are read).
    let stream = unsafe { libc::open_memstream(&mut buf, &mut size) };
    if !stream.is_null() {
        // SAFETY: `stream` is a valid FILE*; DPDK writes its log to it until reset below.
        unsafe { dpdk_sys::rte_openlog_stream(stream.cast()) };
    }
    let redirect = Redirected::new();
    let out = f();
    let mut text = redirect.map(Redirected::restore).unwrap_or_default();
    if !stream.is_null() {
        // SAFETY: back to DPDK's default stream before ours is closed; then the stream is
        // flushed and closed exactly once, and the buffer it allocated freed once.
        unsafe {
            dpdk_sys::rte_openlog_stream(std::ptr::null_mut());
            libc::fclose(stream);
            if !buf.is_null() {
                let bytes = std::slice::from_raw_parts(buf.cast::<u8>(), size);
                text.push_str(&String::from_utf8_lossy(bytes));
                libc::free(buf.cast());
            }
        }
    }
    let lines = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    (out, lines)
}

/// stdout and stderr (fds 1 and 2) pointed at a memory file until restored.
struct Redirected {
    file: std::fs::File,
    saved: [c_int; 2],
}

impl Redirected {
    fn new() -> Option<Self> {
        use std::os::fd::AsRawFd;
        let fd =
            rustix::fs::memfd_create("strait-eal-init", rustix::fs::MemfdFlags::CLOEXEC).ok()?;
        let file = std::fs::File::from(fd);
        // SAFETY: plain descriptor calls on fds 1 and 2 and the memory file; the saved
        // copies are owned by the guard and put back and closed once, in `restore`.
        unsafe {
            libc::fflush(std::ptr::null_mut());
            let saved = [libc::dup(1), libc::dup(2)];
            if saved.iter().any(|&fd| fd < 0) {
                for fd in saved.into_iter().filter(|&fd| fd >= 0) {
                    libc::close(fd);
                }
                return None;
            }
            libc::dup2(file.as_raw_fd(), 1);
            libc::dup2(file.as_raw_fd(), 2);
            Some(Redirected { file, saved })
        }
    }

    /// Puts fds 1 and 2 back and returns what was written meanwhile.
    fn restore(mut self) -> String {
        use std::io::{Read, Seek};
        // SAFETY: flushes C stdio into the memory file, then puts the saved descriptors
        // back on fds 1 and 2 and closes the copies, once.
        unsafe {
            libc::fflush(std::ptr::null_mut());
            libc::dup2(self.saved[0], 1);
            libc::dup2(self.saved[1], 2);
            libc::close(self.saved[0]);
            libc::close(self.saved[1]);
        }
        let mut text = String::new();
        if self.file.rewind().is_ok() {
            let mut bytes = Vec::new();
            let _ = self.file.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    }
}
