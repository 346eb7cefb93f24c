//! KubeFed API types.
