//! Integration tests: one binary, one module per area.

mod support;

mod apply;
mod bad_manifests;
mod check;
mod commands;
mod docker;
mod examples;
mod faults;
mod fidelity;
mod layers;
mod manifest_fuzz;
mod media;
mod netbox;
mod netbox_live;
mod planner;
mod progress;
mod remote_target;
mod sanitize;
mod ssh;
mod store;
mod stream;
mod stream_graph;
mod swap;
mod tunnel;
