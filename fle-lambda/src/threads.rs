//! How many threads decrypt the fields of one form.
//!
//! Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB, up to six
//! at 10,240 MB. Below 1,769 MB the guest may still show two CPUs, but the function only has a
//! share of one, so a second thread would only add switching. Above it, every started vCPU
//! helps (at 3,008 MB, 1.7 vCPUs make two threads 1.7× as fast). The fields of a form are
//! therefore decrypted in parallel only when both the memory setting
//! (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`) and the CPUs the process can use allow more than one;
//! outside Lambda the CPUs alone decide. `FLE_DECRYPT_THREADS` overrides both.

/// Memory that buys one full vCPU.
pub const MB_PER_VCPU: u64 = 1769;

/// Most vCPUs a Lambda function gets.
pub const MAX_LAMBDA_VCPUS: u64 = 6;

/// The environment variable Lambda sets to the function's memory in MB.
pub const MEMORY_VAR: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

/// Threads to use: `memory_mb` (Lambda's setting, if any) and `cpus` (what the process can
/// use) as described in the module documentation; never 0.
pub fn decide(memory_mb: Option<u64>, cpus: usize) -> usize {
    let by_memory = memory_mb.map(|mb| mb.div_ceil(MB_PER_VCPU).clamp(1, MAX_LAMBDA_VCPUS));
    let cpus = cpus.max(1);
    match by_memory {
        Some(v) => usize::try_from(v).unwrap_or(1).min(cpus),
        None => cpus,
    }
}

/// [`decide`] for this process: `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and
/// `std::thread::available_parallelism` (which honours cgroup CPU quotas).
pub fn from_environment() -> usize {
    let memory = std::env::var(MEMORY_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    decide(memory, cpus)
}

#[cfg(test)]
mod tests {
    use super::decide;

    #[test]
    fn parallel_only_with_more_than_one_vcpu() {
        assert_eq!(decide(Some(128), 2), 1, "a share of one vCPU");
        assert_eq!(decide(Some(1769), 2), 1);
        assert_eq!(decide(Some(1770), 2), 2, "more than one vCPU");
        assert_eq!(decide(Some(3008), 2), 2);
        assert_eq!(decide(Some(3008), 1), 1, "not more threads than CPUs");
        assert_eq!(decide(Some(10240), 8), 6);
        assert_eq!(decide(Some(10240), 2), 2, "not more threads than CPUs");
        assert_eq!(decide(None, 2), 2);
        assert_eq!(decide(None, 0), 1);
        assert_eq!(decide(Some(0), 4), 1);
    }
}
