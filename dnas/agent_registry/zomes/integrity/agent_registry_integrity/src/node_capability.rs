//! `NodeCapability`: what a node says it can do. Only its author may write it; fields are bounded.
use hdi::prelude::*;
use ripple_integrity_common::{bad_len, invalid};

pub const MAX_AGENT_NAME_LEN: usize = 64;
pub const MAX_HARDWARE_CLASS_LEN: usize = 32;
pub const MAX_CPU_CORES: u32 = 4096;
pub const MAX_RAM_GB: f64 = 65536.0;

#[hdk_entry_helper]
#[derive(Clone, PartialEq)]
pub struct NodeCapability {
    /// The agent this capability describes; must be the author of the record.
    pub agent: AgentPubKey,
    pub agent_name: String,
    pub hardware_class: String,
    pub cpu_cores: u32,
    pub ram_gb: f64,
}

pub fn validate_create_node_capability(
    author: &AgentPubKey,
    capability: &NodeCapability,
) -> ExternResult<ValidateCallbackResult> {
    if &capability.agent != author {
        return invalid("a NodeCapability can only be written by the agent it describes");
    }
    if let Some(reason) = bad_len("agent_name", &capability.agent_name, MAX_AGENT_NAME_LEN)
        .or_else(|| bad_len("hardware_class", &capability.hardware_class, MAX_HARDWARE_CLASS_LEN))
    {
        return invalid(reason);
    }
    if capability.cpu_cores == 0 || capability.cpu_cores > MAX_CPU_CORES {
        return invalid(format!(
            "cpu_cores must be 1..={MAX_CPU_CORES}, got {}",
            capability.cpu_cores
        ));
    }
    if !(capability.ram_gb.is_finite() && capability.ram_gb > 0.0 && capability.ram_gb <= MAX_RAM_GB)
    {
        return invalid(format!(
            "ram_gb must be in (0, {MAX_RAM_GB}], got {}",
            capability.ram_gb
        ));
    }
    Ok(ValidateCallbackResult::Valid)
}
