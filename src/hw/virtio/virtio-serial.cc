// virtio-serial: see virtio-serial.h.
#include "hw/virtio/virtio-serial.h"

#include <cstring>

#include "chardev/char.h"
#include "hw/virtio/virtio-pci.h"
#include "qom/property-types.h"
#include "util/log.h"

namespace machina {

namespace {

constexpr unsigned kFMultiport = 1;
constexpr uint16_t kQueueSize = 128;
// 5.3.6.2 control events
constexpr uint16_t kDeviceReady = 0, kDeviceAdd = 1, kPortReady = 3, kConsolePort = 4,
                   kPortOpen = 6, kPortName = 7;
constexpr size_t kControlSize = 8;  // le32 id, le16 event, le16 value

class VirtioSerialBus : public Bus {};

TypeRegistration virtio_serial_bus_type{TypeInfo{
    .name = kTypeVirtioSerialBus,
    .parent = kTypeBus,
    .instance_new = [] { return new VirtioSerialBus(); },
}};

TypeRegistration virtio_serial_type{TypeInfo{
    .name = kTypeVirtioSerial,
    .parent = kTypeVirtioDevice,
    .instance_new = [] { return new VirtioSerial(); },
    .class_init =
        [](ObjectClass& c) {
          auto& vc = static_cast<VirtioDeviceClass&>(c);
          vc.device_id = virtio::kIdConsole;
          vc.virtio_name = "virtio-serial";
          vc.description = "VirtIO Serial";
          vc.add_property(
              prop::integer<VirtioSerial, uint32_t>("max_ports", &VirtioSerial::max_ports_, 31));
        },
}};

TypeRegistration virtio_serial_pci_type{TypeInfo{
    .name = kTypeVirtioSerialPci,
    .parent = kTypeVirtioPci,
    .instance_new = [] { return new VirtioPciProxy(); },
    .class_init =
        [](ObjectClass& c) {
          auto& vc = static_cast<VirtioPciClass&>(c);
          vc.backend_type = kTypeVirtioSerial;
          vc.class_id = 0x0780;  // PCI_CLASS_COMMUNICATION_OTHER
          vc.default_vectors = 2;
          vc.category = "Input devices";
          vc.description = "VirtIO Serial (PCI)";
        },
}};

void port_class_init(ObjectClass& c) {
  auto& dc = static_cast<DeviceClass&>(c);
  dc.bus_type = kTypeVirtioSerialBus;
  dc.category = "Input devices";
  dc.add_property(prop::string<VirtioSerialPort>("chardev", &VirtioSerialPort::chardev_));
  dc.add_property(prop::string<VirtioSerialPort>("name", &VirtioSerialPort::name_));
  Property nr = prop::integer<VirtioSerialPort, uint32_t>("nr", &VirtioSerialPort::nr_, UINT32_MAX);
  dc.add_property(std::move(nr));
}

TypeRegistration virtserialport_type{TypeInfo{
    .name = kTypeVirtioSerialPort,
    .parent = kTypeDevice,
    .instance_new = [] { return new VirtioSerialPort(); },
    .class_init =
        [](ObjectClass& c) {
          port_class_init(c);
          static_cast<DeviceClass&>(c).description = "VirtIO serial port";
        },
}};

TypeRegistration virtconsole_type{TypeInfo{
    .name = kTypeVirtConsole,
    .parent = kTypeVirtioSerialPort,
    .instance_new = [] { return new VirtioSerialPort(); },
    .class_init =
        [](ObjectClass& c) { static_cast<DeviceClass&>(c).description = "VirtIO console port"; },
}};

}  // namespace

// --- the device

uint64_t VirtioSerial::device_features() const {
  return virtio::bit(kFMultiport);
}

void VirtioSerial::get_config(std::vector<uint8_t>& cfg) {
  std::fill(cfg.begin(), cfg.end(), 0);
  uint32_t max = max_ports_;
  std::memcpy(&cfg[4], &max, 4);  // cols, rows 0; max_nr_ports
}

VirtQueue* VirtioSerial::rx_queue(uint32_t nr) {
  unsigned q = nr == 0 ? 0 : 2 * nr + 2;
  return q < num_queues() ? &queue(q) : nullptr;
}

VirtQueue* VirtioSerial::tx_queue(uint32_t nr) {
  unsigned q = nr == 0 ? 1 : 2 * nr + 3;
  return q < num_queues() ? &queue(q) : nullptr;
}

VirtioSerialPort* VirtioSerial::port(uint32_t nr) const {
  return nr < ports_.size() ? ports_[nr] : nullptr;
}

Status VirtioSerial::virtio_realize() {
  if (max_ports_ == 0 || max_ports_ > 511) {
    return generic_error("maximum ports supported: 511");
  }
  // The bus is "<proxy id>.0" as in QEMU, so -device virtconsole,bus=vser0.0 works.
  std::string name = "virtio-serial-bus";
  if (auto* owner = dynamic_cast<Device*>(parent()); owner && owner->id())
    name = *owner->id() + ".0";
  auto b = qbus_new(kTypeVirtioSerialBus, this, name);
  if (!b.ok()) return b.error();
  bus_ = b.value();
  ports_.assign(max_ports_, nullptr);
  set_config_size(12);
  for (uint32_t nr = 0; nr < max_ports_; ++nr) {
    if (nr == 1) {
      add_queue(kQueueSize, [this](VirtQueue& vq) { handle_control_in(vq); });
      add_queue(kQueueSize, [this](VirtQueue& vq) { handle_control_out(vq); });
    }
    add_queue(kQueueSize, [this, nr](VirtQueue&) { handle_rx(nr); });
    add_queue(kQueueSize, [this, nr](VirtQueue&) { handle_tx(nr); });
  }
  if (max_ports_ == 1) {
    add_queue(kQueueSize, [this](VirtQueue& vq) { handle_control_in(vq); });
    add_queue(kQueueSize, [this](VirtQueue& vq) { handle_control_out(vq); });
  }
  return Status::Ok();
}

void VirtioSerial::virtio_unrealize() {
  control_out_.clear();
}

void VirtioSerial::device_reset() {
  driver_ready_ = false;
  control_out_.clear();
  for (VirtioSerialPort* p : ports_) {
    if (p) p->device_reset();
  }
}

Status VirtioSerial::add_port(VirtioSerialPort* p) {
  uint32_t nr = p->nr_;
  if (nr == UINT32_MAX) {
    // Port 0 is for a console (QEMU keeps it for virtconsole, for compatibility).
    uint32_t first = p->is_console() && !ports_.empty() && !ports_[0] ? 0 : 1;
    for (nr = first; nr < ports_.size() && ports_[nr]; ++nr) {
    }
    if (nr >= ports_.size()) {
      return generic_error("virtio-serial-bus: Maximum port limit for this device reached");
    }
  } else if (nr >= ports_.size()) {
    return generic_error("virtio-serial-bus: Out-of-range port id specified, max. allowed: " +
                         std::to_string(ports_.size() - 1));
  } else if (ports_[nr]) {
    return generic_error("virtio-serial-bus: A port already exists at id " + std::to_string(nr));
  } else if (nr == 0 && !p->is_console()) {
    return generic_error(
        "virtio-serial-bus: Port number 0 on virtio-serial devices reserved for virtconsole "
        "devices for backward compatibility.");
  }
  if (!p->name_.empty()) {
    for (VirtioSerialPort* o : ports_) {
      if (o && o->name_ == p->name_) {
        return generic_error("virtio-serial-bus: A port already exists by name " + p->name_);
      }
    }
  }
  p->nr_ = nr;
  ports_[nr] = p;
  if (driver_ready_) send_control(nr, kDeviceAdd, 1);
  return Status::Ok();
}

void VirtioSerial::remove_port(VirtioSerialPort* p) {
  if (p->nr_ < ports_.size() && ports_[p->nr_] == p) ports_[p->nr_] = nullptr;
}

void VirtioSerial::send_control(uint32_t id, uint16_t event, uint16_t value,
                                const std::string& extra) {
  std::vector<uint8_t> msg(kControlSize + extra.size());
  std::memcpy(&msg[0], &id, 4);
  std::memcpy(&msg[4], &event, 2);
  std::memcpy(&msg[6], &value, 2);
  std::memcpy(msg.data() + kControlSize, extra.data(), extra.size());
  control_out_.push_back(std::move(msg));
  flush_control();
}

void VirtioSerial::flush_control() {
  if (!driver_ok() || broken() || num_queues() < 4) return;
  VirtQueue& vq = queue(2);
  bool pushed = false;
  while (!control_out_.empty()) {
    auto elem = vq.pop();
    if (!elem) break;
    const auto& msg = control_out_.front();
    size_t n = iov_from_buf(elem->in_sg, 0, msg.data(), msg.size());
    vq.push(*elem, uint32_t(n));
    control_out_.pop_front();
    pushed = true;
  }
  if (pushed) notify(vq);
}

void VirtioSerial::handle_control_in(VirtQueue&) {
  flush_control();
}

void VirtioSerial::handle_control_out(VirtQueue& vq) {
  while (auto elem = vq.pop()) {
    uint8_t hdr[kControlSize];
    if (iov_to_buf(elem->out_sg, 0, hdr, sizeof hdr) < sizeof hdr) {
      log_mask(LOG_GUEST_ERROR, "virtio-serial: short control message");
      vq.push(*elem, 0);
      continue;
    }
    uint32_t id;
    uint16_t event, value;
    std::memcpy(&id, hdr, 4);
    std::memcpy(&event, hdr + 4, 2);
    std::memcpy(&value, hdr + 6, 2);
    vq.push(*elem, 0);
    switch (event) {
      case kDeviceReady:
        if (!value) {
          log_mask(LOG_GUEST_ERROR, "virtio-serial: the guest failed to initialise the device");
          break;
        }
        driver_ready_ = true;
        for (uint32_t nr = 0; nr < ports_.size(); ++nr) {
          if (ports_[nr]) send_control(nr, kDeviceAdd, 1);
        }
        break;
      case kPortReady:
        if (!value) {
          log_mask(LOG_GUEST_ERROR,
                   "virtio-serial: the guest failed to add port " + std::to_string(id));
        } else if (VirtioSerialPort* p = port(id)) {
          p->guest_ready();
        }
        break;
      case kPortOpen:
        if (VirtioSerialPort* p = port(id)) p->set_guest_connected(value != 0);
        break;
      default:
        break;
    }
  }
  notify(vq);
}

void VirtioSerial::handle_tx(uint32_t nr) {
  if (VirtioSerialPort* p = port(nr)) {
    p->flush_tx();
    return;
  }
  // No port there: the data goes nowhere.
  VirtQueue* vq = tx_queue(nr);
  if (!vq) return;
  while (auto elem = vq->pop()) vq->push(*elem, 0);
  notify(*vq);
}

void VirtioSerial::handle_rx(uint32_t nr) {
  if (VirtioSerialPort* p = port(nr)) p->rx_ready();
}

// --- ports

bool VirtioSerialPort::is_console() const {
  return is_a(kTypeVirtConsole);
}

VirtioSerial* VirtioSerialPort::serial() const {
  Bus* b = parent_bus();
  return b ? dynamic_cast<VirtioSerial*>(b->parent_device()) : nullptr;
}

Status VirtioSerialPort::do_realize() {
  VirtioSerial* s = serial();
  if (!s) return generic_error("virtio-serial port is not on a virtio-serial bus");
  if (!chardev_.empty()) {
    Chardev* chr = chardev_find(chardev_);
    if (!chr) {
      return generic_error("Property '" + type_name() + ".chardev' can't find value '" + chardev_ +
                           "'");
    }
    if (Status st = fe_.init(chr); !st.ok()) return st;
  }
  if (Status st = s->add_port(this); !st.ok()) {
    fe_.deinit();
    return st;
  }
  if (fe_.attached()) {
    fe_.set_handlers([this] { return can_read(); },
                     [this](const uint8_t* b, size_t n) { read(b, n); },
                     [this](ChardevEvent ev) { event(ev); });
  }
  return Status::Ok();
}

void VirtioSerialPort::do_unrealize() {
  fe_.deinit();
  if (VirtioSerial* s = serial()) s->remove_port(this);
  tx_elem_.reset();
  rx_elem_.reset();
}

void VirtioSerialPort::device_reset() {
  guest_connected_ = false;
  ready_ = false;
  tx_elem_.reset();
  tx_offset_ = 0;
  rx_elem_.reset();
}

void VirtioSerialPort::guest_ready() {
  VirtioSerial* s = serial();
  ready_ = true;
  if (is_console()) {
    s->send_control(nr_, kConsolePort, 1);
  }
  if (!name_.empty()) s->send_control(nr_, kPortName, 1, name_ + std::string(1, '\0'));
  if (host_connected_) s->send_control(nr_, kPortOpen, 1);
}

void VirtioSerialPort::set_guest_connected(bool on) {
  guest_connected_ = on;
  if (on) {
    fe_.accept_input();
    flush_tx();
  }
}

void VirtioSerialPort::event(ChardevEvent ev) {
  VirtioSerial* s = serial();
  if (ev == ChardevEvent::Opened) {
    host_connected_ = true;
    if (s && s->driver_ready() && ready_) s->send_control(nr_, kPortOpen, 1);
    flush_tx();
  } else if (ev == ChardevEvent::Closed) {
    host_connected_ = false;
    if (s && s->driver_ready() && ready_) s->send_control(nr_, kPortOpen, 0);
  }
}

size_t VirtioSerialPort::can_read() {
  VirtioSerial* s = serial();
  if (!s || !guest_connected_ || !s->driver_ok() || s->broken()) return 0;
  if (!rx_elem_) {
    VirtQueue* vq = s->rx_queue(nr_);
    if (!vq) return 0;
    rx_elem_ = vq->pop();
    if (!rx_elem_) return 0;
  }
  return rx_elem_->in_bytes();
}

void VirtioSerialPort::read(const uint8_t* buf, size_t len) {
  VirtioSerial* s = serial();
  while (len && s) {
    if (!can_read()) {
      log_mask(LOG_GUEST_ERROR,
               "virtio-serial: port " + std::to_string(nr_) + ": input dropped (no guest buffer)");
      return;
    }
    size_t n = iov_from_buf(rx_elem_->in_sg, 0, buf, len);
    VirtQueue* vq = s->rx_queue(nr_);
    vq->push(*rx_elem_, uint32_t(n));
    rx_elem_.reset();
    s->notify(*vq);
    buf += n;
    len -= n;
  }
}

void VirtioSerialPort::rx_ready() {
  fe_.accept_input();
}

void VirtioSerialPort::flush_tx() {
  VirtioSerial* s = serial();
  if (!s || !s->driver_ok() || s->broken()) return;
  VirtQueue* vq = s->tx_queue(nr_);
  if (!vq) return;
  bool pushed = false;
  for (;;) {
    if (!tx_elem_) {
      tx_elem_ = vq->pop();
      tx_offset_ = 0;
      if (!tx_elem_) break;
    }
    size_t total = tx_elem_->out_bytes();
    // Without a connected chardev the bytes are dropped (as a serial line with nothing on it).
    while (fe_.attached() && host_connected_ && tx_offset_ < total) {
      uint8_t chunk[4096];
      size_t n = iov_to_buf(tx_elem_->out_sg, tx_offset_, chunk, sizeof chunk);
      size_t w = fe_.write(chunk, n);
      tx_offset_ += w;
      if (w < n) {
        if (!tx_waiting_) {
          tx_waiting_ = true;
          fe_.notify_writable([this] {
            tx_waiting_ = false;
            flush_tx();
          });
        }
        if (pushed) s->notify(*vq);
        return;
      }
    }
    vq->push(*tx_elem_, 0);
    tx_elem_.reset();
    pushed = true;
  }
  if (pushed) s->notify(*vq);
}

}  // namespace machina
