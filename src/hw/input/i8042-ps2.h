// The PS/2 keyboard and mouse behind the i8042, as far as their command protocols go (no key or
// pointer events yet: machina has no input backend). Each answers the bytes the controller sends
// it with the bytes it would send back, queued for the controller to pick up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace machina {

class Ps2Device {
 public:
  static constexpr size_t kQueueSize = 16;
  std::deque<uint8_t>& queue() { return queue_; }

 protected:
  void reply(uint8_t b) {
    if (queue_.size() < kQueueSize) queue_.push_back(b);
  }
  std::deque<uint8_t> queue_;
};

class Ps2Keyboard : public Ps2Device {
 public:
  // A byte from the host. `translate`: the controller translates to scan code set 1 (command
  // byte bit 6), which changes the identification bytes.
  void write(uint8_t v, bool translate);
  void reset();
  int scancode_set() const { return scancode_set_; }
  bool scanning() const { return scanning_; }
  uint8_t leds() const { return leds_; }

 private:
  uint8_t pending_ = 0;  // a command waiting for its parameter
  int scancode_set_ = 2;
  bool scanning_ = true;
  uint8_t leds_ = 0;
};

class Ps2Mouse : public Ps2Device {
 public:
  void write(uint8_t v);
  void reset();
  bool enabled() const { return enabled_; }

 private:
  uint8_t pending_ = 0;
  bool enabled_ = false;
  bool wrap_ = false;
  bool remote_ = false;
  bool scaling_2to1_ = false;
  uint8_t resolution_ = 2;
  uint8_t sample_rate_ = 100;
};

}  // namespace machina
