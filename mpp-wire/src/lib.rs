//! Link's view of the MPP wire (work in progress).
