// machina-testdev-timer: see testdev.h.
#include <memory>

#include "hw/core/qdev.h"
#include "hw/misc/testdev.h"
#include "qom/property-types.h"
#include "system/memory.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

class TestdevTimer : public Device {
 public:
  uint16_t iobase = kTestdevTimerDefaultBase;

  TestdevTimer() {
    init_gpio_out("", 1);
    init_gpio_in("", 1, [this](int n, int level) {
      if (level) {
        inputs_ |= 1u << n;
      } else {
        inputs_ &= ~(1u << n);
      }
    });
  }

 protected:
  Status do_realize() override {
    MemoryRegionOps ops;
    ops.read = [this](uint64_t addr, unsigned) { return reg_read(addr); };
    ops.write = [this](uint64_t addr, uint64_t v, unsigned) { reg_write(addr, v); };
    ops.valid.min_access_size = 1;
    ops.valid.max_access_size = 4;
    ops.impl.min_access_size = 4;
    ops.impl.max_access_size = 4;
    io_.init_io(this, kTypeTestdevTimer, std::move(ops), kTestdevTimerSize);
    return get_system_io()->add_subregion(iobase, &io_);
  }

  void do_unrealize() override {
    timer_.del();
    (void)get_system_io()->del_subregion(&io_);
  }

  void do_reset() override {
    timer_.del();
    delay_ = 0;
    count_ = 0;
    set_gpio_out("", 0, 0);
  }

 private:
  uint64_t reg_read(uint64_t addr) {
    switch (addr) {
      case kTestdevTimerArm:
        return delay_;
      case kTestdevTimerCount:
        set_gpio_out("", 0, 0);
        return count_;
      case kTestdevTimerInputs:
        return inputs_;
      default:
        return 0;
    }
  }

  void reg_write(uint64_t addr, uint64_t v) {
    if (addr != kTestdevTimerArm) return;
    delay_ = uint32_t(v);
    if (delay_ == 0) {
      timer_.del();
    } else {
      timer_.mod(clock_get_ns(ClockType::Virtual) + delay_);
    }
  }

  void expired() {
    ++count_;
    set_gpio_out("", 0, 1);
  }

  MemoryRegion io_;
  Timer timer_{ClockType::Virtual, [this] { expired(); }};
  uint32_t delay_ = 0;
  uint32_t count_ = 0;
  uint32_t inputs_ = 0;
};

TypeRegistration testdev_timer_type{TypeInfo{
    .name = kTypeTestdevTimer,
    .parent = kTypeDevice,
    .instance_new = [] { return new TestdevTimer(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.category = "Misc devices";
          dc.description = "machina test device: one-shot virtual-clock timer with an IRQ output";
          dc.add_property(prop::integer<TestdevTimer, uint16_t>("iobase", &TestdevTimer::iobase,
                                                                kTestdevTimerDefaultBase));
        },
}};

}  // namespace

}  // namespace machina
