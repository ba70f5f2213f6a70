// machina-testdev-gpio: see testdev.h.
#include "hw/core/qdev.h"
#include "hw/misc/testdev.h"
#include "qom/property-types.h"
#include "system/memory.h"

namespace machina {

namespace {

class TestdevGpio : public Device {
 public:
  uint16_t iobase = kTestdevGpioDefaultBase;

  TestdevGpio() {
    init_gpio_in("", kTestdevGpioLines, [this](int n, int level) {
      if (level) {
        inputs_ |= uint8_t(1u << n);
      } else {
        inputs_ &= uint8_t(~(1u << n));
      }
    });
    init_gpio_out("", kTestdevGpioLines);
  }

 protected:
  Status do_realize() override {
    MemoryRegionOps ops;
    ops.read = [this](uint64_t addr, unsigned) -> uint64_t {
      if (addr == kTestdevGpioIn) return inputs_;
      if (addr == kTestdevGpioOut) return outputs_;
      return 0;
    };
    ops.write = [this](uint64_t addr, uint64_t v, unsigned) {
      if (addr == kTestdevGpioOut) set_outputs(uint8_t(v));
    };
    ops.valid.min_access_size = 1;
    ops.valid.max_access_size = 4;
    ops.impl.min_access_size = 4;
    ops.impl.max_access_size = 4;
    io_.init_io(this, kTypeTestdevGpio, std::move(ops), kTestdevGpioSize);
    return get_system_io()->add_subregion(iobase, &io_);
  }

  void do_unrealize() override { (void)get_system_io()->del_subregion(&io_); }

  void do_reset() override { set_outputs(0); }

 private:
  void set_outputs(uint8_t v) {
    outputs_ = v;
    for (int i = 0; i < kTestdevGpioLines; ++i) set_gpio_out("", i, (v >> i) & 1);
  }

  MemoryRegion io_;
  uint8_t inputs_ = 0;
  uint8_t outputs_ = 0;
};

TypeRegistration testdev_gpio_type{TypeInfo{
    .name = kTypeTestdevGpio,
    .parent = kTypeDevice,
    .instance_new = [] { return new TestdevGpio(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.category = "Misc devices";
          dc.description = "machina test device: 8 GPIO inputs and 8 GPIO outputs on I/O ports";
          dc.add_property(prop::integer<TestdevGpio, uint16_t>("iobase", &TestdevGpio::iobase,
                                                               kTestdevGpioDefaultBase));
        },
}};

}  // namespace

}  // namespace machina
