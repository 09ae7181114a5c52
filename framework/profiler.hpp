// Per-op timers behind a switch (xseq bench --profile). When enabled, every op
// records its forward time, measured as the time since the previous op was
// recorded (so the glue a layer runs before an op, such as building a mask, is
// charged to that op), and every backward closure its own time. Off by default:
// the cost when disabled is one branch per op.
#pragma once

#include <cstdint>
#include <string>

namespace xseq::profiler {

void enable(bool on);
bool enabled();
/// Clears the counters and restarts the forward clock.
void reset();
/// Restarts the forward clock: call where a forward pass begins.
void mark();
/// Charges the time since the last mark to `op` as forward time (called by Variable::from_op).
void record_forward(const char* op);
/// Adds `seconds` of backward time to `op`.
void record_backward(const char* op, double seconds);
/// Adds `seconds` to a named phase outside the graph (e.g. "optimizer").
void record_phase(const char* name, double seconds);
/// A markdown table of the counters, sorted by total time, per step of `steps`.
std::string report(std::int64_t steps);

}  // namespace xseq::profiler
