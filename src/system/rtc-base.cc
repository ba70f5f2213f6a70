// -rtc: see rtc-base.h.
#include "system/rtc-base.h"

#include <ctime>

namespace machina {

namespace {

enum class RtcBase { Utc, Localtime, Datetime };
RtcBase g_base = RtcBase::Utc;
int64_t g_offset = 0;  // base=DATE: DATE minus the host time at configuration

bool parse_datetime(const std::string& s, int64_t* out) {
  struct tm tm = {};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || *end) {
    tm = {};
    end = strptime(s.c_str(), "%Y-%m-%d", &tm);
    if (!end || *end) return false;
  }
  *out = int64_t(timegm(&tm));
  return true;
}

}  // namespace

Status rtc_configure(const QemuOpts& opts) {
  if (const std::string* base = opts.get("base")) {
    if (*base == "utc") {
      g_base = RtcBase::Utc;
    } else if (*base == "localtime") {
      g_base = RtcBase::Localtime;
    } else {
      int64_t when;
      if (!parse_datetime(*base, &when))
        return generic_error(
            "invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'");
      g_base = RtcBase::Datetime;
      g_offset = when - int64_t(std::time(nullptr));
    }
  }
  if (const std::string* clock = opts.get("clock")) {
    if (*clock != "host" && *clock != "rt" && *clock != "vm")
      return generic_error("invalid option value '" + *clock + "'");
  }
  if (const std::string* drift = opts.get("driftfix")) {
    if (*drift == "slew") return generic_error("-rtc driftfix=slew is not supported");
    if (*drift != "none") return generic_error("invalid option value '" + *drift + "'");
  }
  return Status::Ok();
}

int64_t rtc_base_time() {
  int64_t now = int64_t(std::time(nullptr));
  switch (g_base) {
    case RtcBase::Utc:
      return now;
    case RtcBase::Localtime: {
      std::time_t t = std::time_t(now);
      struct tm local;
      localtime_r(&t, &local);
      return now + local.tm_gmtoff;
    }
    case RtcBase::Datetime:
      return now + g_offset;
  }
  return now;
}

void rtc_reset_configuration() {
  g_base = RtcBase::Utc;
  g_offset = 0;
}

}  // namespace machina
