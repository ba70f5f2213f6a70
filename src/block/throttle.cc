#include "block/throttle.h"

#include <algorithm>
#include <cmath>

namespace machina {

namespace {

constexpr double kNsPerSecond = 1e9;
// Rounding slack when a bucket has leaked exactly to its capacity.
constexpr double kEpsilon = 1e-9;

// The buckets a request in that direction fills.
std::array<ThrottleBucket, 4> buckets_of(bool is_write) {
  if (is_write) {
    return {ThrottleBucket::BpsTotal, ThrottleBucket::BpsWrite, ThrottleBucket::IopsTotal,
            ThrottleBucket::IopsWrite};
  }
  return {ThrottleBucket::BpsTotal, ThrottleBucket::BpsRead, ThrottleBucket::IopsTotal,
          ThrottleBucket::IopsRead};
}

bool is_iops(ThrottleBucket b) {
  return b == ThrottleBucket::IopsTotal || b == ThrottleBucket::IopsRead ||
         b == ThrottleBucket::IopsWrite;
}

double capacity(const ThrottleLimit& l) {
  return l.max ? double(l.max) * double(l.max_length) : double(l.avg) / 10;
}

int64_t seconds_to_ns(double s) {
  double ns = std::ceil(s * kNsPerSecond);
  return ns >= 9e18 ? int64_t(9e18) : std::max<int64_t>(1, int64_t(ns));
}

}  // namespace

bool ThrottleConfig::enabled() const {
  return std::any_of(limits.begin(), limits.end(), [](const ThrottleLimit& l) { return l.avg; });
}

const char* throttle_drive_name(ThrottleBucket b) {
  switch (b) {
    case ThrottleBucket::BpsTotal:
      return "bps-total";
    case ThrottleBucket::BpsRead:
      return "bps-read";
    case ThrottleBucket::BpsWrite:
      return "bps-write";
    case ThrottleBucket::IopsTotal:
      return "iops-total";
    case ThrottleBucket::IopsRead:
      return "iops-read";
    case ThrottleBucket::IopsWrite:
      return "iops-write";
  }
  return "";
}

const char* throttle_qmp_name(ThrottleBucket b) {
  switch (b) {
    case ThrottleBucket::BpsTotal:
      return "bps";
    case ThrottleBucket::BpsRead:
      return "bps_rd";
    case ThrottleBucket::BpsWrite:
      return "bps_wr";
    case ThrottleBucket::IopsTotal:
      return "iops";
    case ThrottleBucket::IopsRead:
      return "iops_rd";
    case ThrottleBucket::IopsWrite:
      return "iops_wr";
  }
  return "";
}

Status throttle_config_check(const ThrottleConfig& cfg) {
  auto both = [&](ThrottleBucket total, ThrottleBucket rd, ThrottleBucket wr, bool burst) {
    auto v = [&](ThrottleBucket b) { return burst ? cfg[b].max : cfg[b].avg; };
    return v(total) && (v(rd) || v(wr));
  };
  using B = ThrottleBucket;
  for (bool burst : {false, true}) {
    if (both(B::BpsTotal, B::BpsRead, B::BpsWrite, burst) ||
        both(B::IopsTotal, B::IopsRead, B::IopsWrite, burst)) {
      return generic_error(
          "bps/iops/max total values and read/write values cannot be used at the same time");
    }
  }
  if (cfg.iops_size && !cfg[B::IopsTotal].avg && !cfg[B::IopsRead].avg && !cfg[B::IopsWrite].avg) {
    return generic_error("iops size requires an iops value to be set");
  }
  for (const ThrottleLimit& l : cfg.limits) {
    if (l.avg > kThrottleValueMax || l.max > kThrottleValueMax) {
      return generic_error("bps/iops/max values must be within [0, " +
                           std::to_string(kThrottleValueMax) + "]");
    }
    if (!l.max_length) return generic_error("the burst length cannot be 0");
    if (l.max_length > 1 && !l.max) return generic_error("burst length set without burst rate");
    if (l.max && l.max_length > kThrottleValueMax / l.max) {
      return generic_error("burst length too high for this burst rate");
    }
    if (l.max && !l.avg) {
      return generic_error("bps_max/iops_max require corresponding bps/iops values");
    }
    if (l.max && l.max < l.avg) {
      return generic_error("bps_max/iops_max cannot be lower than bps/iops");
    }
  }
  return Status::Ok();
}

void ThrottleState::set_config(const ThrottleConfig& cfg) {
  cfg_ = cfg;
  levels_ = {};
  last_ns_ = -1;
}

void ThrottleState::leak(int64_t now_ns) {
  if (last_ns_ >= 0 && now_ns > last_ns_) {
    double seconds = double(now_ns - last_ns_) / kNsPerSecond;
    for (int i = 0; i < kThrottleBuckets; ++i) {
      const ThrottleLimit& l = cfg_.limits[size_t(i)];
      Level& v = levels_[size_t(i)];
      v.level = std::max(0.0, v.level - double(l.avg) * seconds);
      v.burst_level = std::max(0.0, v.burst_level - double(l.max) * seconds);
    }
  }
  if (now_ns > last_ns_) last_ns_ = now_ns;
}

int64_t ThrottleState::wait_ns(bool is_write, int64_t now_ns) {
  leak(now_ns);
  int64_t wait = 0;
  for (ThrottleBucket b : buckets_of(is_write)) {
    const ThrottleLimit& l = cfg_[b];
    if (!l.avg) continue;
    const Level& v = levels_[size_t(b)];
    double extra = v.level - capacity(l);
    if (extra > kEpsilon) wait = std::max(wait, seconds_to_ns(extra / double(l.avg)));
    if (l.max) {
      double burst_extra = v.burst_level - double(l.max) / 10;
      if (burst_extra > kEpsilon) {
        wait = std::max(wait, seconds_to_ns(burst_extra / double(l.max)));
      }
    }
  }
  return wait;
}

void ThrottleState::account(bool is_write, uint64_t bytes, int64_t now_ns) {
  leak(now_ns);
  double ops = 1;
  if (cfg_.iops_size && bytes > cfg_.iops_size) ops = double(bytes) / double(cfg_.iops_size);
  for (ThrottleBucket b : buckets_of(is_write)) {
    if (!cfg_[b].avg) continue;
    double units = is_iops(b) ? ops : double(bytes);
    levels_[size_t(b)].level += units;
    if (cfg_[b].max) levels_[size_t(b)].burst_level += units;
  }
}

}  // namespace machina
