// I/O limits (QEMU's util/throttle.c): the configuration -drive throttling.* and
// block_set_io_throttle give, its validation with QEMU's texts, and the leaky buckets that decide
// when a request may start.
//
// The algorithm. Each limit that is set (bps-total, bps-read, bps-write, iops-total, iops-read,
// iops-write) is a bucket whose level is the work done but not yet "paid for": a request adds its
// cost (bytes for bps limits; 1 for iops limits, or bytes / iops-size when iops-size is set and
// the request is larger), and the level leaks away continuously at `avg` units per second. A
// request may start when every bucket of its direction (total + read, or total + write) is at or
// below its capacity: avg / 10 (a tenth of a second of work may go at once), or, when a burst
// rate `max` is set, max * max-length (a burst of max-length seconds). With a burst rate, a second
// bucket of capacity max / 10 leaks at `max` per second, so that a burst runs no faster than
// `max`. When a bucket is over its capacity the request waits (level - capacity) / rate seconds.
// Requests are not split: a large one may take a bucket far over its capacity, and the ones after
// it wait until it has leaked down.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "qapi/error.h"

namespace machina {

enum class ThrottleBucket { BpsTotal, BpsRead, BpsWrite, IopsTotal, IopsRead, IopsWrite };
inline constexpr int kThrottleBuckets = 6;

// The largest avg/max value (QEMU's THROTTLE_VALUE_MAX).
inline constexpr uint64_t kThrottleValueMax = 1000000000000000ull;

struct ThrottleLimit {
  uint64_t avg = 0;         // units per second; 0: no limit
  uint64_t max = 0;         // burst rate; 0: no burst beyond avg / 10
  uint64_t max_length = 1;  // seconds a burst at `max` may last
};

struct ThrottleConfig {
  std::array<ThrottleLimit, kThrottleBuckets> limits{};
  uint64_t iops_size = 0;  // bytes counted as one operation (0: every request is one)

  ThrottleLimit& operator[](ThrottleBucket b) { return limits[size_t(b)]; }
  const ThrottleLimit& operator[](ThrottleBucket b) const { return limits[size_t(b)]; }
  // Whether any limit is set (QEMU's throttle_enabled).
  bool enabled() const;
  bool operator==(const ThrottleConfig&) const = default;
};

// The option names of each bucket, as -drive spells them after "throttling." ("bps-total", ...)
// and as block_set_io_throttle / query-block spell them ("bps", "bps_rd", ...).
const char* throttle_drive_name(ThrottleBucket b);
const char* throttle_qmp_name(ThrottleBucket b);

// QEMU's throttle_is_valid, with its texts ("bps/iops/max values must be within [0,
// 1000000000000000]", "bps/iops/max total values and read/write values cannot be used at the same
// time", ...).
Status throttle_config_check(const ThrottleConfig& cfg);

// The buckets of one configuration. Times are nanoseconds on any clock, non-decreasing.
class ThrottleState {
 public:
  explicit ThrottleState(const ThrottleConfig& cfg = {}) : cfg_(cfg) {}

  // New limits: the buckets start empty (as QEMU's throttle_config).
  void set_config(const ThrottleConfig& cfg);
  const ThrottleConfig& config() const { return cfg_; }

  // Nanoseconds until a request in that direction may start (0: now).
  int64_t wait_ns(bool is_write, int64_t now_ns);
  // Charges a request that starts.
  void account(bool is_write, uint64_t bytes, int64_t now_ns);

 private:
  struct Level {
    double level = 0;        // units not yet leaked at `avg`
    double burst_level = 0;  // units not yet leaked at `max`
  };
  void leak(int64_t now_ns);

  ThrottleConfig cfg_;
  std::array<Level, kThrottleBuckets> levels_{};
  int64_t last_ns_ = -1;
};

}  // namespace machina
