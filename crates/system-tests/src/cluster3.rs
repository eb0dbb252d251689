//! A real three-node Pacemaker cluster on one machine, in network namespaces (work in progress).
