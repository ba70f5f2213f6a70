// -rtc: where the guest's real-time clocks start (QEMU's configure_rtc and qemu_get_timedate).
//   base=utc (default)  host time, UTC
//   base=localtime      host time in the host's time zone (for guests whose RTC keeps local time)
//   base=DATE           "2006-06-17T16:01:21" or "2006-06-17" (UTC), advancing from start-up
//   clock=host|rt|vm    accepted; machina's RTC always counts on the virtual clock (QEMU's "vm":
//                       it stands still while the machine is stopped)
//   driftfix=none       accepted; "slew" (re-injecting lost RTC ticks) is refused as unsupported
// Errors carry QEMU's texts.
#pragma once

#include <cstdint>
#include <string>

#include "qapi/error.h"
#include "util/qemu-option.h"

namespace machina {

Status rtc_configure(const QemuOpts& opts);

// Seconds since the epoch the RTC reads now, per -rtc base= (a struct tm of it, taken as UTC, is
// what the RTC shows).
int64_t rtc_base_time();

// Back to the default (tests).
void rtc_reset_configuration();

}  // namespace machina
