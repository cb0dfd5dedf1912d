//! Faults and hostile input: replicate killed, interrupted, servers gone,
//! disks full, files tampered with, odd names. Every test ends by checking
//! that nothing was lost.

mod killed;
mod odd_input;
mod servers_and_disks;
mod tampered;
