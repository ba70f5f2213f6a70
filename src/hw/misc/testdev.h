// Test devices for qtest tests (user-creatable, bus-less: they map their registers into the
// machine's I/O port space at realize, so they work on `-M none`).
//
// machina-testdev-timer (iobase, default 0xf100): a one-shot virtual-clock timer.
//   +0 write: arm the timer to fire DELAY ns from now (32-bit; 0 disarms); read: the last DELAY.
//   +4 read: the number of expirations so far; lowers the output line.
//   +8 read: the levels of the GPIO inputs (bit i: unnamed input i).
//   GPIO: unnamed output 0 ("irq") is raised at each expiry; one unnamed input.
//
// machina-testdev-gpio (iobase, default 0xf200): eight GPIO lines in and out.
//   +0 read: the levels of the 8 unnamed GPIO inputs as a bitmask.
//   +4 write: sets the 8 unnamed GPIO outputs to the bits written; read: the last value written.
#pragma once

#include <cstdint>

namespace machina {

inline constexpr const char* kTypeTestdevTimer = "machina-testdev-timer";
inline constexpr const char* kTypeTestdevGpio = "machina-testdev-gpio";

inline constexpr uint16_t kTestdevTimerDefaultBase = 0xf100;
inline constexpr uint64_t kTestdevTimerArm = 0;
inline constexpr uint64_t kTestdevTimerCount = 4;
inline constexpr uint64_t kTestdevTimerInputs = 8;
inline constexpr uint64_t kTestdevTimerSize = 16;

inline constexpr uint16_t kTestdevGpioDefaultBase = 0xf200;
inline constexpr uint64_t kTestdevGpioIn = 0;
inline constexpr uint64_t kTestdevGpioOut = 4;
inline constexpr uint64_t kTestdevGpioSize = 8;
inline constexpr int kTestdevGpioLines = 8;

}  // namespace machina
