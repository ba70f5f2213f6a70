// The ICH9 ACPI PM register block. See ich9-pm.h.
#include "hw/acpi/ich9-pm.h"

#include <cstdio>
#include <string>

#include "hw/acpi/powerdown-request.h"
#include "qom/property-types.h"
#include "system/runstate.h"
#include "util/log.h"

namespace machina {

using namespace ich9_pm;

namespace {

constexpr uint16_t kPm1StsW1c =
    kTmrSts | kBmSts | kGblSts | kPwrbtnSts | kRtcSts | kPciexpWakSts | kWakSts;
constexpr uint16_t kPm1EnMask = kTmrEn | kGblEn | kPwrbtnEn | kRtcEn | kPciexpWakDis;
constexpr uint16_t kPm1CntStored = kSciEn | kBmRld | kSlpTypMask;
// PM1 events that raise the SCI when enabled (status bit = enable bit).
constexpr uint16_t kPm1SciEvents = kTmrSts | kGblSts | kPwrbtnSts | kRtcSts;
constexpr int kTimerMsb = 23;

}  // namespace

Ich9Pm::Ich9Pm() {
  init_gpio_out("", 1);  // SCI
}

Ich9Pm::~Ich9Pm() {
  if (powerdown_handle_) powerdown_notifier_remove(powerdown_handle_);
}

Status Ich9Pm::do_realize() {
  MemoryRegionOps ops;
  ops.read = [this](uint64_t addr, unsigned size) { return io_read(addr, size); };
  ops.write = [this](uint64_t addr, uint64_t v, unsigned size) { io_write(addr, v, size); };
  ops.valid.min_access_size = 1;
  ops.valid.max_access_size = 4;
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 4;
  io_.init_io(this, "acpi-pm", std::move(ops), kIch9PmIoSize);
  powerdown_handle_ = powerdown_notifier_add([this] { power_button(); });
  do_reset();
  return Status::Ok();
}

void Ich9Pm::do_unrealize() {
  timer_.del();
  unmap();
  if (pcihp_mapped_) (void)get_system_io()->del_subregion(&pcihp_->io());
  pcihp_mapped_ = false;
  if (powerdown_handle_) powerdown_notifier_remove(powerdown_handle_);
  powerdown_handle_ = 0;
}

void Ich9Pm::do_reset() {
  pm1_sts_ = 0;
  pm1_en_ = 0;
  pm1_cnt_ = acpi_enabled ? kSciEn : 0;
  gpe0_sts_ = 0;
  gpe0_en_ = 0;
  if (pcihp_) pcihp_->reset();
  tmr_toggle_ns_ = next_msb_toggle(clock_get_ns(ClockType::Virtual));
  timer_.del();
  update_sci();
}

void Ich9Pm::map(uint16_t base) {
  if (mapped_) unmap();
  if (uint32_t(base) + kIch9PmIoSize > 0x10000) {
    log_mask(LOG_GUEST_ERROR, "ich9-pm: PMBASE " + std::to_string(base) + " out of range");
    return;
  }
  if (Status s = get_system_io()->add_subregion(base, &io_); !s.ok()) {
    log_mask(LOG_GUEST_ERROR, "ich9-pm: cannot map at PMBASE: " + s.message());
    return;
  }
  base_ = base;
  mapped_ = true;
}

void Ich9Pm::unmap() {
  if (!mapped_) return;
  (void)get_system_io()->del_subregion(&io_);
  mapped_ = false;
}

// --- the PM timer

uint64_t Ich9Pm::timer_ticks(int64_t now) const {
  if (now < 0) now = 0;
  return uint64_t((unsigned __int128)uint64_t(now) * kPmTimerFrequency / kNsPerSec);
}

int64_t Ich9Pm::next_msb_toggle(int64_t now) const {
  uint64_t next = ((timer_ticks(now) >> kTimerMsb) + 1) << kTimerMsb;
  // The first nanosecond at which the count reaches `next`.
  unsigned __int128 ns =
      ((unsigned __int128)next * kNsPerSec + kPmTimerFrequency - 1) / kPmTimerFrequency;
  return int64_t(ns);
}

uint32_t Ich9Pm::pm_timer() const {
  return uint32_t(timer_ticks(clock_get_ns(ClockType::Virtual)) & kTimerMask);
}

void Ich9Pm::update_tmr_sts(int64_t now) {
  if (now >= tmr_toggle_ns_) {
    pm1_sts_ |= kTmrSts;
    tmr_toggle_ns_ = next_msb_toggle(now);
  }
}

void Ich9Pm::rearm_timer() {
  if ((pm1_en_ & kTmrEn) && !(pm1_sts_ & kTmrSts)) {
    timer_.mod(tmr_toggle_ns_);
  } else {
    timer_.del();
  }
}

void Ich9Pm::timer_expired() {
  update_tmr_sts(clock_get_ns(ClockType::Virtual));
  update_sci();
}

// --- events and the SCI

void Ich9Pm::update_sci() {
  update_tmr_sts(clock_get_ns(ClockType::Virtual));
  bool pending = (pm1_sts_ & pm1_en_ & kPm1SciEvents) || (gpe0_sts_ & gpe0_en_);
  bool level = (pm1_cnt_ & kSciEn) && pending;
  rearm_timer();
  if (level == sci_level_) return;
  sci_level_ = level;
  set_gpio_out("", 0, level ? 1 : 0);
}

uint16_t Ich9Pm::pm1_sts() {
  update_tmr_sts(clock_get_ns(ClockType::Virtual));
  return pm1_sts_;
}

void Ich9Pm::power_button() {
  pm1_sts_ |= kPwrbtnSts;
  update_sci();
}

void Ich9Pm::raise_gpe(int bit) {
  if (bit < 0 || bit >= 64) return;
  gpe0_sts_ |= uint64_t{1} << bit;
  update_sci();
}

Status Ich9Pm::enable_pci_hotplug() {
  if (pcihp_) return Status::Ok();
  pcihp_ = std::make_unique<AcpiPciHp>(this, [this] { raise_gpe(kAcpiPciHpGpeBit); });
  if (Status s = get_system_io()->add_subregion(kAcpiPciHpIoBaseIch9, &pcihp_->io()); !s.ok()) {
    return s;
  }
  pcihp_mapped_ = true;
  return Status::Ok();
}

void Ich9Pm::set_acpi_mode(bool enable) {
  if (enable) {
    pm1_cnt_ |= kSciEn;
  } else {
    pm1_cnt_ &= ~kSciEn;
  }
  update_sci();
}

void Ich9Pm::enter_sleep(int slp_typ) {
  if (slp_typ == 0 || slp_typ == 7) {
    qemu_system_shutdown_request("guest-shutdown", true);
    return;
  }
  log_mask(LOG_UNIMP, "ich9-pm: sleep type " + std::to_string(slp_typ) + " not supported");
}

// --- register access, byte by byte (little-endian)

uint64_t Ich9Pm::io_read(uint64_t addr, unsigned size) {
  int64_t now = clock_get_ns(ClockType::Virtual);
  update_tmr_sts(now);
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= uint64_t(read_byte(addr + i, now)) << (8 * i);
  return v;
}

void Ich9Pm::io_write(uint64_t addr, uint64_t value, unsigned size) {
  int64_t now = clock_get_ns(ClockType::Virtual);
  update_tmr_sts(now);
  uint64_t old_en = gpe0_en_;
  for (unsigned i = 0; i < size; ++i) write_byte(addr + i, uint8_t(value >> (8 * i)));
  update_sci();
  uint64_t enabled = gpe0_en_ & ~old_en;
  if (pcihp_ && (enabled & (uint64_t{1} << kAcpiPciHpGpeBit))) pcihp_->gpe_enabled();
}

uint8_t Ich9Pm::read_byte(uint64_t off, int64_t now) {
  auto byte_of = [](uint64_t reg, uint64_t index) { return uint8_t(reg >> (8 * index)); };
  if (off < kPm1En) return byte_of(pm1_sts_, off - kPm1Sts);
  if (off < kPm1Cnt) return byte_of(pm1_en_, off - kPm1En);
  if (off < kPm1Cnt + 2) return byte_of(pm1_cnt_, off - kPm1Cnt);
  if (off < kPmTmr) return 0;
  if (off < kPmTmr + 4) return byte_of(timer_ticks(now) & kTimerMask, off - kPmTmr);
  if (off >= kGpe0Sts && off < kGpe0En) return byte_of(gpe0_sts_, off - kGpe0Sts);
  if (off >= kGpe0En && off < kGpe0Sts + kGpe0Len) return byte_of(gpe0_en_, off - kGpe0En);
  return 0;
}

void Ich9Pm::write_pm1_cnt_byte(int byte, uint8_t v) {
  uint16_t mask = uint16_t(0xffu << (8 * byte));
  uint16_t val = uint16_t(uint16_t(v) << (8 * byte));
  pm1_cnt_ = uint16_t((pm1_cnt_ & ~(mask & kPm1CntStored)) | (val & mask & kPm1CntStored));
  if (val & kSlpEn) enter_sleep((pm1_cnt_ & kSlpTypMask) >> kSlpTypShift);
}

void Ich9Pm::write_byte(uint64_t off, uint8_t v) {
  if (off < kPm1En) {
    int sh = 8 * int(off - kPm1Sts);
    pm1_sts_ &= uint16_t(~((uint16_t(v) << sh) & kPm1StsW1c));
  } else if (off < kPm1Cnt) {
    int sh = 8 * int(off - kPm1En);
    uint16_t mask = uint16_t(0xffu << sh);
    pm1_en_ = uint16_t((pm1_en_ & ~mask) | ((uint16_t(v) << sh) & mask & kPm1EnMask));
  } else if (off < kPm1Cnt + 2) {
    write_pm1_cnt_byte(int(off - kPm1Cnt), v);
  } else if (off >= kPmTmr && off < kPmTmr + 4) {
    // read-only
  } else if (off >= kGpe0Sts && off < kGpe0En) {
    gpe0_sts_ &= ~(uint64_t(v) << (8 * (off - kGpe0Sts)));
  } else if (off >= kGpe0En && off < kGpe0Sts + kGpe0Len) {
    int sh = 8 * int(off - kGpe0En);
    gpe0_en_ = (gpe0_en_ & ~(uint64_t{0xff} << sh)) | (uint64_t(v) << sh);
  } else if (off < kPm1Cnt + 4) {
    // PM1_CNT bits 31:16: reserved
  } else {
    char msg[80];
    std::snprintf(msg, sizeof msg, "ich9-pm: write to unimplemented register PMBASE+0x%02x",
                  unsigned(off));
    log_mask(LOG_UNIMP, msg);
  }
}

namespace {

TypeRegistration ich9_pm_type{TypeInfo{
    .name = kTypeIch9Pm,
    .parent = kTypeSysBusDevice,
    .instance_new = [] { return new Ich9Pm(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.hotpluggable = false;
          dc.description = "ICH9 ACPI power management registers";
          dc.add_property(prop::boolean<Ich9Pm>("acpi-enabled", &Ich9Pm::acpi_enabled, true));
        },
}};

}  // namespace

}  // namespace machina
