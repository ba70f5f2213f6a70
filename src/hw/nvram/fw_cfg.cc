// QEMU's fw_cfg device, I/O-port flavour. See fw_cfg.h.
#include "hw/nvram/fw_cfg.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "qom/property-types.h"
#include "util/log.h"

namespace machina {

using namespace fw_cfg;

namespace {

void put_be(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = uint8_t(v >> (8 * (bytes - 1 - i)));
}

uint64_t get_be(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

std::vector<uint8_t> le_bytes(uint64_t v, int bytes) {
  std::vector<uint8_t> out;
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
  return out;
}

[[noreturn]] void fw_cfg_bug(const char* what, unsigned key) {
  std::fprintf(stderr, "machina: fw_cfg: %s (key 0x%x)\n", what, key);
  std::abort();
}

}  // namespace

FwCfg::FwCfg() {
  add_bytes(kSignature, {'Q', 'E', 'M', 'U'});
  rebuild_directory();
}

// --- items

void FwCfg::add_bytes(uint16_t key, std::vector<uint8_t> data) {
  int arch = (key & kArchLocal) ? 1 : 0;
  uint16_t idx = key & kEntryMask;
  if (idx >= kFileFirst || (key & kWriteChannel)) fw_cfg_bug("add_bytes on a file or bad key", key);
  entries_[arch][idx] = Entry{std::move(data), false};
}

void FwCfg::add_lazy(uint16_t key, std::function<std::vector<uint8_t>()> load) {
  add_bytes(key, {});
  entries_[(key & kArchLocal) ? 1 : 0][key & kEntryMask].load = std::move(load);
}

void FwCfg::add_i16(uint16_t key, uint16_t value) {
  add_bytes(key, le_bytes(value, 2));
}
void FwCfg::add_i32(uint16_t key, uint32_t value) {
  add_bytes(key, le_bytes(value, 4));
}
void FwCfg::add_i64(uint16_t key, uint64_t value) {
  add_bytes(key, le_bytes(value, 8));
}
void FwCfg::add_string(uint16_t key, const std::string& s) {
  std::vector<uint8_t> d(s.begin(), s.end());
  d.push_back(0);
  add_bytes(key, std::move(d));
}

Status FwCfg::add_file(const std::string& name, std::vector<uint8_t> data, bool writable) {
  if (name.empty() || name.size() >= kFileNameSize) {
    return generic_error("fw_cfg: bad file name '" + name + "'");
  }
  auto it = std::lower_bound(files_.begin(), files_.end(), name,
                             [](const auto& f, const std::string& n) { return f.first < n; });
  if (it != files_.end() && it->first == name) {
    return generic_error("duplicate fw_cfg file name: " + name);
  }
  if (files_.size() >= kFileSlots) {
    return generic_error("fw_cfg: no free file slot for " + name);
  }
  files_.insert(it, {name, Entry{std::move(data), writable}});
  rebuild_directory();
  return Status::Ok();
}

Status FwCfg::set_file(const std::string& name, std::vector<uint8_t> data) {
  for (auto& f : files_) {
    if (f.first == name) {
      f.second.data = std::move(data);
      rebuild_directory();
      return Status::Ok();
    }
  }
  return add_file(name, std::move(data));
}

const std::vector<uint8_t>* FwCfg::file(const std::string& name) const {
  for (const auto& f : files_) {
    if (f.first == name) return &f.second.data;
  }
  return nullptr;
}

uint16_t FwCfg::file_key(const std::string& name) const {
  for (size_t i = 0; i < files_.size(); ++i) {
    if (files_[i].first == name) return uint16_t(kFileFirst + i);
  }
  return 0;
}

void FwCfg::rebuild_directory() {
  std::vector<uint8_t> dir(4 + files_.size() * kFileDirEntrySize, 0);
  put_be(dir.data(), files_.size(), 4);
  for (size_t i = 0; i < files_.size(); ++i) {
    uint8_t* e = dir.data() + 4 + i * kFileDirEntrySize;
    put_be(e, files_[i].second.data.size(), 4);
    put_be(e + 4, kFileFirst + i, 2);
    std::memcpy(e + 8, files_[i].first.data(), files_[i].first.size());
  }
  entries_[0][kFileDir] = Entry{std::move(dir), false};
}

FwCfg::Entry* FwCfg::entry_for(uint16_t key) {
  uint16_t idx = key & kEntryMask;
  if (key & kArchLocal) return idx < kFileFirst ? &entries_[1][idx] : nullptr;
  if (idx < kFileFirst) return &entries_[0][idx];
  if (idx - kFileFirst < int(files_.size())) return &files_[idx - kFileFirst].second;
  return nullptr;
}

// --- the traditional interface

void FwCfg::select(uint16_t key) {
  cur_key_ = key;
  cur_offset_ = 0;
  cur_valid_ = (key & kEntryMask) < kMaxEntry;
  if (Entry* e = cur_valid_ ? entry_for(key) : nullptr; e && e->load) {
    e->data = e->load();
    e->load = nullptr;
  }
}

uint8_t FwCfg::read_data() {
  Entry* e = cur_valid_ ? entry_for(cur_key_) : nullptr;
  if (!e || cur_offset_ >= e->data.size()) return 0;
  return e->data[cur_offset_++];
}

// --- DMA

uint64_t FwCfg::dma_read_reg(uint64_t addr, unsigned size) const {
  // The signature, big-endian: the bytes of "QEMU CFG" in address order.
  uint64_t v =
      (kDmaSignature >> ((8 - addr - size) * 8)) & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1);
  return size == 8 ? __builtin_bswap64(v) : __builtin_bswap32(uint32_t(v));
}

void FwCfg::dma_write_reg(uint64_t addr, uint64_t value, unsigned size) {
  if (size == 4) {
    uint64_t v = __builtin_bswap32(uint32_t(value));
    if (addr == 0) {
      dma_addr_ = v << 32;
    } else {
      dma_addr_ |= v;
      dma_transfer();
    }
  } else {
    dma_addr_ = __builtin_bswap64(value);
    dma_transfer();
  }
}

void FwCfg::dma_transfer() {
  const AddressSpace& as = dma_as_ ? *dma_as_ : address_space_memory();
  uint64_t desc = dma_addr_;
  dma_addr_ = 0;

  uint8_t raw[16];
  auto write_control = [&](uint32_t control) {
    uint8_t c[4];
    put_be(c, control, 4);
    if (!dma_write(as, desc, c, 4).ok()) {
      log_mask(LOG_GUEST_ERROR, "fw_cfg: DMA: cannot write the control word back");
    }
  };
  if (!dma_read(as, desc, raw, sizeof raw).ok()) {
    log_mask(LOG_GUEST_ERROR, "fw_cfg: DMA: access structure not in RAM");
    write_control(kDmaCtlError);
    return;
  }
  uint32_t control = uint32_t(get_be(raw, 4));
  uint32_t length = uint32_t(get_be(raw + 4, 4));
  uint64_t address = get_be(raw + 8, 8);

  if (control & kDmaCtlSelect) select(uint16_t(control >> 16));
  bool read = false, write = false;
  if (control & kDmaCtlRead) {
    read = true;
  } else if (control & kDmaCtlWrite) {
    write = true;
  } else if (!(control & kDmaCtlSkip)) {
    length = 0;
  }

  uint32_t result = 0;
  Entry* e = cur_valid_ ? entry_for(cur_key_) : nullptr;
  while (length > 0 && !(result & kDmaCtlError)) {
    uint32_t len;
    if (!e || cur_offset_ >= e->data.size()) {
      // Past the end (or no item): reads give zeros, writes fail.
      len = length;
      if (read) {
        static const uint8_t zeros[4096] = {};
        for (uint32_t done = 0; done < len && !(result & kDmaCtlError);) {
          uint32_t n = std::min<uint32_t>(len - done, sizeof zeros);
          if (!dma_write(as, address + done, zeros, n).ok()) result |= kDmaCtlError;
          done += n;
        }
      }
      if (write) result |= kDmaCtlError;
    } else {
      len = std::min<uint32_t>(length, uint32_t(e->data.size() - cur_offset_));
      if (read && !dma_write(as, address, e->data.data() + cur_offset_, len).ok()) {
        result |= kDmaCtlError;
      }
      if (write) {
        if (!e->writable || len != length ||
            !dma_read(as, address, e->data.data() + cur_offset_, len).ok()) {
          result |= kDmaCtlError;
        }
      }
      cur_offset_ += len;
    }
    address += len;
    length -= len;
  }
  if (result & kDmaCtlError) log_mask(LOG_GUEST_ERROR, "fw_cfg: DMA transfer failed");
  write_control(result);
}

// --- the device

Status FwCfg::do_realize() {
  add_i32(kId, kFeatureTraditional | (dma_enabled ? kFeatureDma : 0));

  MemoryRegionOps ops;
  ops.read = [this](uint64_t, unsigned) -> uint64_t { return read_data(); };
  ops.write = [this](uint64_t addr, uint64_t v, unsigned size) {
    if (addr == 0 && size == 2) select(uint16_t(v));  // data writes are ignored
  };
  ops.valid.min_access_size = 1;
  ops.valid.max_access_size = 2;
  ops.valid.accepts = [](uint64_t addr, unsigned size, bool) {
    return (addr == 1 && size == 1) || (addr == 0 && size == 2);
  };
  ops.impl.min_access_size = 1;
  ops.impl.max_access_size = 2;
  io_.init_io(this, "fwcfg", std::move(ops), 2);
  if (Status s = get_system_io()->add_subregion(iobase, &io_); !s.ok()) return s;
  io_mapped_ = true;

  if (dma_enabled) {
    MemoryRegionOps dops;
    dops.read = [this](uint64_t addr, unsigned size) { return dma_read_reg(addr, size); };
    dops.write = [this](uint64_t addr, uint64_t v, unsigned size) { dma_write_reg(addr, v, size); };
    dops.valid.min_access_size = 4;
    dops.valid.max_access_size = 8;
    dops.valid.accepts = [](uint64_t addr, unsigned size, bool) {
      return (size == 4 && (addr == 0 || addr == 4)) || (size == 8 && addr == 0);
    };
    dops.impl.min_access_size = 4;
    dops.impl.max_access_size = 8;
    dma_io_.init_io(this, "fwcfg.dma", std::move(dops), 8);
    if (Status s = get_system_io()->add_subregion(dma_iobase, &dma_io_); !s.ok()) return s;
    dma_mapped_ = true;
  }
  return Status::Ok();
}

void FwCfg::do_unrealize() {
  if (io_mapped_) (void)get_system_io()->del_subregion(&io_);
  if (dma_mapped_) (void)get_system_io()->del_subregion(&dma_io_);
  io_mapped_ = dma_mapped_ = false;
}

void FwCfg::do_reset() {
  select(0);
  dma_addr_ = 0;
}

// --- helpers

std::vector<uint8_t> fw_cfg_e820_file(const std::vector<E820Entry>& map) {
  std::vector<uint8_t> out;
  for (const E820Entry& e : map) {
    for (uint8_t b : le_bytes(e.addr, 8)) out.push_back(b);
    for (uint8_t b : le_bytes(e.size, 8)) out.push_back(b);
    for (uint8_t b : le_bytes(e.type, 4)) out.push_back(b);
  }
  return out;
}

Status fw_cfg_add_pc_items(FwCfg& fw, uint64_t ram_size, uint16_t nb_cpus, uint16_t max_cpus,
                           bool nographic, const std::vector<E820Entry>& e820) {
  fw.add_i64(kRamSize, ram_size);
  fw.add_i16(kNbCpus, nb_cpus);
  fw.add_i16(kMaxCpus, max_cpus);
  fw.add_i16(kNographic, nographic ? 1 : 0);
  fw.add_i16(kBootMenu, 0);
  fw.add_bytes(kUuid, std::vector<uint8_t>(16, 0));
  fw.add_i32(kIrq0Override, 1);
  return fw.set_file("etc/e820", fw_cfg_e820_file(e820));
}

void fw_cfg_add_linux_boot(FwCfg& fw, const FwCfgLinuxBoot& b) {
  fw.add_i32(kKernelAddr, b.kernel_addr);
  if (b.load_kernel) {
    fw.add_i32(kKernelSize, b.kernel_size);
    fw.add_lazy(kKernelData, b.load_kernel);
  } else {
    fw.add_i32(kKernelSize, uint32_t(b.kernel.size()));
    fw.add_bytes(kKernelData, b.kernel);
  }
  fw.add_i32(kSetupAddr, b.setup_addr);
  fw.add_i32(kSetupSize, uint32_t(b.setup.size()));
  fw.add_bytes(kSetupData, b.setup);
  fw.add_i32(kInitrdAddr, b.initrd_addr);
  if (b.load_initrd) {
    fw.add_i32(kInitrdSize, b.initrd_size);
    fw.add_lazy(kInitrdData, b.load_initrd);
  } else {
    fw.add_i32(kInitrdSize, uint32_t(b.initrd.size()));
    fw.add_bytes(kInitrdData, b.initrd);
  }
  fw.add_i32(kCmdlineAddr, b.cmdline_addr);
  fw.add_i32(kCmdlineSize, uint32_t(b.cmdline.size() + 1));
  fw.add_string(kCmdlineData, b.cmdline);
}

namespace {

TypeRegistration fw_cfg_io_type{TypeInfo{
    .name = kTypeFwCfgIo,
    .parent = kTypeSysBusDevice,
    .instance_new = [] { return new FwCfg(); },
    .class_init =
        [](ObjectClass& c) {
          auto& dc = static_cast<DeviceClass&>(c);
          dc.user_creatable = false;
          dc.hotpluggable = false;
          dc.description = "QEMU firmware configuration device (I/O ports)";
          dc.add_property(prop::integer<FwCfg, uint16_t>("iobase", &FwCfg::iobase, kFwCfgIoBase));
          dc.add_property(
              prop::integer<FwCfg, uint16_t>("dma_iobase", &FwCfg::dma_iobase, kFwCfgDmaIoBase));
          dc.add_property(prop::boolean<FwCfg>("dma_enabled", &FwCfg::dma_enabled, true));
        },
}};

}  // namespace

}  // namespace machina
