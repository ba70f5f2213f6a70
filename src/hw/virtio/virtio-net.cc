// virtio-net: see virtio-net.h.
#include "hw/virtio/virtio-net.h"

#include <cstdio>
#include <cstring>

#include "hw/virtio/virtio-pci.h"
#include "monitor/monitor.h"
#include "qom/property-types.h"
#include "util/log.h"

namespace machina {

namespace {

// 5.1.3 Feature bits
constexpr unsigned kFCsum = 0, kFGuestCsum = 1, kFMac = 5, kFGuestTso4 = 7, kFGuestTso6 = 8,
                   kFHostTso4 = 11, kFHostTso6 = 12, kFMrgRxbuf = 15, kFStatus = 16, kFCtrlVq = 17,
                   kFCtrlRx = 18, kFMq = 22, kFCtrlMacAddr = 23;
// virtio_net_hdr_v1 (VERSION_1 or MRG_RXBUF: with num_buffers), which a vnet-header backend
// always carries; a legacy driver without MRG_RXBUF uses the 10-byte virtio_net_hdr.
constexpr size_t kHdrLenV1 = 12;
constexpr size_t kHdrLenLegacy = 10;
constexpr unsigned kHdrNumBuffers = 10;
constexpr uint16_t kStatusLinkUp = 1;
// 5.1.6.5 control classes and commands
constexpr uint8_t kCtrlRx = 0, kCtrlMac = 1, kCtrlAnnounce = 3, kCtrlMq = 4;
constexpr uint8_t kMqVqPairsSet = 0;
constexpr unsigned kMqVqPairsMin = 1, kMqVqPairsMax = 0x8000;
constexpr unsigned kVirtioQueueMax = 1024;  // QEMU's VIRTIO_QUEUE_MAX
constexpr uint8_t kRxPromisc = 0, kRxAllmulti = 1, kRxAlluni = 2, kRxNomulti = 3, kRxNouni = 4,
                  kRxNobcast = 5;
constexpr uint8_t kMacTableSet = 0, kMacAddrSet = 1;
constexpr uint8_t kAckOk = 0, kAckErr = 1;
constexpr size_t kMacTableMax = 64;

bool parse_mac(const std::string& s, std::array<uint8_t, 6>& out) {
  unsigned v[6];
  char tail;
  if (s.size() != 17 || std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2],
                                    &v[3], &v[4], &v[5], &tail) != 6) {
    return false;
  }
  for (int i = 0; i < 6; ++i) out[size_t(i)] = uint8_t(v[i]);
  return true;
}

std::string format_mac(const std::array<uint8_t, 6>& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

TypeRegistration virtio_net_type{TypeInfo{
    .name = kTypeVirtioNet,
    .parent = kTypeVirtioDevice,
    .instance_new = [] { return new VirtioNet(); },
    .class_init =
        [](ObjectClass& c) {
          auto& vc = static_cast<VirtioDeviceClass&>(c);
          vc.device_id = virtio::kIdNet;
          vc.virtio_name = "virtio-net";
          vc.description = "VirtIO Network Device";
          vc.add_property(prop::string<VirtioNet>("mac", &VirtioNet::mac_));
          vc.add_property(prop::string<VirtioNet>("netdev", &VirtioNet::netdev_));
          vc.add_property(prop::boolean<VirtioNet>("mrg_rxbuf", &VirtioNet::mrg_rxbuf_, true));
          vc.add_property(prop::boolean<VirtioNet>("csum", &VirtioNet::csum_, true));
          vc.add_property(prop::boolean<VirtioNet>("guest_csum", &VirtioNet::guest_csum_, true));
          vc.add_property(prop::boolean<VirtioNet>("ctrl_vq", &VirtioNet::ctrl_vq_, true));
          vc.add_property(prop::boolean<VirtioNet>("ctrl_rx", &VirtioNet::ctrl_rx_, true));
          vc.add_property(prop::boolean<VirtioNet>("status", &VirtioNet::status_, true));
          vc.add_property(prop::boolean<VirtioNet>("mq", &VirtioNet::mq_, false));
          vc.add_property(
              prop::integer<VirtioNet, uint16_t>("rx_queue_size", &VirtioNet::rx_queue_size_, 256));
          vc.add_property(
              prop::integer<VirtioNet, uint16_t>("tx_queue_size", &VirtioNet::tx_queue_size_, 256));
        },
}};

TypeRegistration virtio_net_pci_type{TypeInfo{
    .name = kTypeVirtioNetPci,
    .parent = kTypeVirtioPci,
    .instance_new = [] { return new VirtioPciProxy(); },
    .class_init =
        [](ObjectClass& c) {
          auto& vc = static_cast<VirtioPciClass&>(c);
          vc.backend_type = kTypeVirtioNet;
          vc.class_id = 0x0200;    // PCI_CLASS_NETWORK_ETHERNET
          vc.default_vectors = 4;  // config, receive, transmit, control
          // As QEMU: a vector per queue of each of the netdev's queue pairs, control, config.
          vc.vectors_for = [](const VirtioDevice& d) {
            return uint32_t(2 * static_cast<const VirtioNet&>(d).peer_queues() + 2);
          };
          vc.category = "Network devices";
          vc.description = "VirtIO Network Device (PCI)";
        },
}};

}  // namespace

std::string VirtioNet::qdev_id() const {
  auto* owner = dynamic_cast<Device*>(parent());
  if (owner && owner->id()) return *owner->id();
  return id() ? *id() : "";
}

uint64_t VirtioNet::device_features() const {
  uint64_t f = virtio::bit(kFMac);
  if (mrg_rxbuf_) f |= virtio::bit(kFMrgRxbuf);
  if (status_) f |= virtio::bit(kFStatus);
  if (ctrl_vq_) {
    f |= virtio::bit(kFCtrlVq) | virtio::bit(kFCtrlMacAddr);
    if (ctrl_rx_) f |= virtio::bit(kFCtrlRx);
    // MQ needs the control queue (VQ_PAIRS_SET).
    if (mq_) f |= virtio::bit(kFMq);
  }
  // Offloads only when the backend carries the header (QEMU's peer_has_vnet_hdr).
  if (nd_ && nd_->has_vnet_hdr()) {
    if (csum_) f |= virtio::bit(kFCsum) | virtio::bit(kFHostTso4) | virtio::bit(kFHostTso6);
    if (guest_csum_) {
      f |= virtio::bit(kFGuestCsum) | virtio::bit(kFGuestTso4) | virtio::bit(kFGuestTso6);
    }
  }
  return f;
}

void VirtioNet::get_config(std::vector<uint8_t>& cfg) {
  std::fill(cfg.begin(), cfg.end(), 0);
  std::memcpy(cfg.data(), macaddr_.data(), 6);
  uint16_t st = link_up_ ? kStatusLinkUp : 0;
  std::memcpy(&cfg[6], &st, 2);
  uint16_t pairs = uint16_t(max_pairs_);
  std::memcpy(&cfg[8], &pairs, 2);
}

void VirtioNet::set_config(const std::vector<uint8_t>& cfg, uint32_t addr, unsigned) {
  // The MAC is writable through the configuration only by legacy drivers without
  // CTRL_MAC_ADDR (as QEMU).
  if (addr < 6 && !has_feature(kFCtrlMacAddr) && !has_feature(virtio::kFVersion1)) {
    std::memcpy(macaddr_.data(), cfg.data(), 6);
  }
}

void VirtioNet::features_set(uint64_t features) {
  hdr_len_ = features & (virtio::bit(virtio::kFVersion1) | virtio::bit(kFMrgRxbuf)) ? kHdrLenV1
                                                                                    : kHdrLenLegacy;
  // One pair unless the driver took MQ; the control queue follows the last pair.
  multiqueue_ = features & virtio::bit(kFMq);
  set_queue_layout(multiqueue_ ? max_pairs_ : 1);
  curr_pairs_ = 1;
  apply_queue_pairs();
  if (!nd_) return;
  // The header stays with the backend when it can carry it; the guest's offloads go to tap.
  vnet_hdr_ = nd_->has_vnet_hdr() && nd_->using_vnet_hdr(true);
  if (vnet_hdr_) {
    nd_->set_offload(features & virtio::bit(kFGuestCsum), features & virtio::bit(kFGuestTso4),
                     features & virtio::bit(kFGuestTso6), false, false);
  }
}

void VirtioNet::device_reset() {
  hdr_len_ = kHdrLenLegacy;  // no features negotiated
  promisc_ = true;
  allmulti_ = alluni_ = nomulti_ = nouni_ = nobcast_ = false;
  uni_table_.clear();
  multi_table_.clear();
  uni_overflow_ = multi_overflow_ = false;
  if (!mac_.empty()) parse_mac(mac_, macaddr_);
  multiqueue_ = false;
  curr_pairs_ = 1;
  set_queue_layout(mq_ ? max_pairs_ : 1);
  apply_queue_pairs();
}

void VirtioNet::set_queue_layout(unsigned pairs) {
  if (pairs == layout_pairs_ && num_queues() == 2 * pairs + (ctrl_vq_ ? 1 : 0)) return;
  delete_queues();
  layout_pairs_ = pairs;
  for (unsigned i = 0; i < pairs; ++i) {
    add_queue(rx_queue_size_, [this, i](VirtQueue&) { handle_rx(i); });
    add_queue(tx_queue_size_, [this, i](VirtQueue& vq) { handle_tx(vq, i); });
  }
  if (ctrl_vq_) add_queue(64, [this](VirtQueue& vq) { handle_ctrl(vq); });
}

void VirtioNet::apply_queue_pairs() {
  if (!nd_) return;
  for (unsigned i = 0; i < nd_->num_queues(); ++i) nd_->set_queue_enabled(i, i < curr_pairs_);
}

Status VirtioNet::virtio_realize() {
  if (!mac_.empty()) {
    if (!parse_mac(mac_, macaddr_)) {
      return generic_error("Property '" + type_name() + ".mac' doesn't take value '" + mac_ + "'");
    }
  } else {
    macaddr_ = net_default_mac();
  }
  for (uint16_t size : {rx_queue_size_, tx_queue_size_}) {
    if (size < 256 || size > virtio::kQueueMaxSize || (size & (size - 1))) {
      return generic_error("Invalid rx_queue_size/tx_queue_size (= " + std::to_string(size) +
                           "), must be a power of 2 between 256 and 1024.");
    }
  }
  link_name_ = qdev_id();
  if (!netdev_.empty()) {
    auto r =
        netdev_attach(netdev_, link_name_.empty() ? canonical_path() : link_name_, type_name());
    if (!r.ok()) return r.error();
    nd_ = std::move(r.value());
    // As QEMU: the netdev's queue count is the device's number of queue pairs.
    max_pairs_ = nd_->num_queues();
    if (max_pairs_ * 2 + 1 > kVirtioQueueMax) {
      unsigned n = max_pairs_;
      nd_.reset();
      return generic_error("Invalid number of queue pairs (= " + std::to_string(n) +
                           "), must be a positive integer less than " +
                           std::to_string((kVirtioQueueMax - 1) / 2) + ".");
    }
    for (unsigned i = 0; i < max_pairs_; ++i) {
      nd_->set_peer([this, i] { return can_receive(i); },
                    [this, i](const iovec* iov, int n) { return receive(i, iov, n); }, i);
    }
    link_up_ = !nd_->link_down();
  }
  if (!link_name_.empty()) net_register_nic_link(link_name_, [this](bool up) { set_link(up); });
  nic_name_ = !link_name_.empty()
                  ? link_name_
                  : net_nic_anonymous_name(parent() ? parent()->type_name() : type_name());
  net_register_nic_rx_filter(nic_name_, [this] { return query_rx_filter(); });
  set_config_size(12);
  layout_pairs_ = 0;
  set_queue_layout(mq_ ? max_pairs_ : 1);
  curr_pairs_ = 1;
  apply_queue_pairs();
  return Status::Ok();
}

void VirtioNet::virtio_unrealize() {
  if (!link_name_.empty()) net_unregister_nic_link(link_name_);
  net_unregister_nic_rx_filter(nic_name_);
  if (nd_) nd_->clear_peer();
  nd_.reset();  // releases the netdev
}

void VirtioNet::set_link(bool up) {
  if (link_up_ == up) return;
  link_up_ = up;
  if (has_feature(kFStatus)) notify_config();
  if (up && nd_) {
    for (unsigned i = 0; i < curr_pairs_; ++i) nd_->receive_ready(i);
  }
}

// --- transmit

void VirtioNet::handle_tx(VirtQueue& vq, unsigned pair) {
  bool pushed = false;
  do {
    vq.set_notification(false);
    while (auto elem = vq.pop()) {
      size_t total = elem->out_bytes();
      if (total < hdr_len_ || !elem->in_sg.empty()) {
        error("virtio-net header not in first element");
        return;
      }
      // A pair the driver has not activated sends nothing (its netdev queue is detached).
      if (nd_ && link_up_ && pair < curr_pairs_) {
        std::vector<iovec> frame = iov_slice(elem->out_sg, hdr_len_, total - hdr_len_);
        // A vnet-header backend takes the 12-byte header: the guest's as it is, or a legacy
        // 10-byte one with num_buffers 0.
        uint8_t hdr[kHdrLenV1] = {};
        if (vnet_hdr_) {
          iov_to_buf(elem->out_sg, 0, hdr, hdr_len_);
          frame.insert(frame.begin(), iovec{hdr, kHdrLenV1});
        }
        nd_->send(frame.data(), int(frame.size()), pair);
      }
      vq.push(*elem, 0);
      pushed = true;
    }
    vq.set_notification(true);
  } while (!vq.empty() && !broken());
  if (pushed) notify(vq);
}

// --- receive

void VirtioNet::handle_rx(unsigned pair) {
  // The guest posted buffers: frames the backend held back can come now.
  if (nd_ && pair < curr_pairs_) nd_->receive_ready(pair);
}

bool VirtioNet::can_receive(unsigned pair) {
  if (!driver_ok() || broken() || !link_up_ || pair >= curr_pairs_ || pair >= layout_pairs_ ||
      2 * pair >= num_queues()) {
    return false;
  }
  VirtQueue& rx = queue(2 * pair);
  return rx.ready() && !rx.empty();
}

bool VirtioNet::accept_frame(const uint8_t* dst) const {
  static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (promisc_) return true;
  if (std::memcmp(dst, bcast, 6) == 0) return !nobcast_;
  auto in = [dst](const std::vector<std::array<uint8_t, 6>>& t) {
    for (const auto& m : t) {
      if (std::memcmp(m.data(), dst, 6) == 0) return true;
    }
    return false;
  };
  if (dst[0] & 1) {
    if (nomulti_) return false;
    return allmulti_ || multi_overflow_ || in(multi_table_);
  }
  if (nouni_) return false;
  return alluni_ || uni_overflow_ || std::memcmp(dst, macaddr_.data(), 6) == 0 || in(uni_table_);
}

ssize_t VirtioNet::receive(unsigned pair, const iovec* iov, int iovcnt) {
  std::vector<iovec> in(iov, iov + iovcnt);
  size_t size = 0;
  for (const iovec& v : in) size += v.iov_len;
  if (!can_receive(pair)) return 0;
  // The frame (after the backend's header, if it has one).
  size_t off = vnet_hdr_ ? kHdrLenV1 : 0;
  if (size < off + 14) return ssize_t(size);  // runt: dropped
  uint8_t dst[6];
  iov_to_buf(in, off, dst, 6);
  if (!accept_frame(dst)) return ssize_t(size);  // filtered: consumed
  // The guest's header: the backend's (its first hdr_len_ bytes), or zero.
  const size_t hl = hdr_len_;
  uint8_t hdr[kHdrLenV1] = {};
  if (vnet_hdr_) iov_to_buf(in, 0, hdr, kHdrLenV1);
  size_t frame_len = size - off;
  size_t total = hl + frame_len;
  VirtQueue& rx = queue(2 * pair);
  bool mrg = has_feature(kFMrgRxbuf);
  std::vector<VirtQueueElement> used;
  size_t done = 0;
  while (done < total) {
    auto elem = rx.pop();
    if (!elem) {
      // Out of buffers in the middle of a frame: give them back, the backend keeps the frame.
      for (size_t i = 0; i < used.size(); ++i) rx.unpop();
      return 0;
    }
    size_t room = elem->in_bytes();
    if (!mrg && room < total) {
      log_mask(LOG_GUEST_ERROR, "virtio-net: receive buffer too small for a " +
                                    std::to_string(frame_len) + "-byte frame; dropped");
      rx.push(*elem, 0);
      for (size_t i = 0; i < used.size(); ++i) rx.unpop();
      notify(rx);
      return ssize_t(size);
    }
    if (room == 0) {
      error("virtio-net receive queue contains no in buffers");
      return ssize_t(size);
    }
    if (done == 0 && room < hl) {
      error("virtio-net receive buffer too small for the header");
      return ssize_t(size);
    }
    size_t n = std::min(room, total - done);
    size_t copied = 0;
    if (done == 0) {
      copied = iov_from_buf(elem->in_sg, 0, hdr, hl);
      std::vector<iovec> payload = iov_slice(in, off, frame_len);
      std::vector<uint8_t> tmp(n - hl);
      iov_to_buf(payload, 0, tmp.data(), tmp.size());
      copied += iov_from_buf(elem->in_sg, hl, tmp.data(), tmp.size());
    } else {
      std::vector<uint8_t> tmp(n);
      iov_to_buf(in, off + (done - hl), tmp.data(), n);
      copied = iov_from_buf(elem->in_sg, 0, tmp.data(), n);
    }
    done += copied;
    used.push_back(std::move(*elem));
    if (!mrg) break;
  }
  // num_buffers in the first buffer's header (the legacy 10-byte header has none).
  uint16_t nbuf = uint16_t(used.size());
  if (hl == kHdrLenV1) iov_from_buf(used[0].in_sg, kHdrNumBuffers, &nbuf, 2);
  size_t left = total;
  for (size_t i = 0; i < used.size(); ++i) {
    size_t len = std::min(left, used[i].in_bytes());
    rx.fill(used[i], uint32_t(len), unsigned(i));
    left -= len;
  }
  rx.flush(unsigned(used.size()));
  notify(rx);
  return ssize_t(size);
}

// --- control queue

void VirtioNet::rx_filter_changed() {
  // As QEMU: one event, then none until a query-rx-filter has read the new state.
  if (!rx_filter_notify_) return;
  rx_filter_notify_ = false;
  std::string id = qdev_id();
  json data = {{"path", canonical_path()}};
  if (!id.empty()) data["name"] = id;
  monitor_event("NIC_RX_FILTER_CHANGED", data);
}

json VirtioNet::query_rx_filter() {
  auto mode = [](bool none, bool all) { return none ? "none" : all ? "all" : "normal"; };
  auto macs = [](const std::vector<std::array<uint8_t, 6>>& t) {
    json out = json::array();
    for (const auto& m : t) out.push_back(format_mac(m));
    return out;
  };
  rx_filter_notify_ = true;
  // broadcast-allowed carries the no-broadcast flag in QEMU 7.2 (sic); tools see that value.
  return {{"name", nic_name_},
          {"promiscuous", promisc_},
          {"multicast", mode(nomulti_, allmulti_)},
          {"unicast", mode(nouni_, alluni_)},
          {"vlan", "all"},
          {"broadcast-allowed", nobcast_},
          {"multicast-overflow", multi_overflow_},
          {"unicast-overflow", uni_overflow_},
          {"main-mac", format_mac(macaddr_)},
          {"vlan-table", json::array()},
          {"unicast-table", macs(uni_table_)},
          {"multicast-table", macs(multi_table_)}};
}

uint8_t VirtioNet::ctrl_rx(uint8_t cmd, const std::vector<uint8_t>& data) {
  if (data.size() != 1) return kAckErr;
  bool on = data[0] != 0;
  switch (cmd) {
    case kRxPromisc:
      promisc_ = on;
      break;
    case kRxAllmulti:
      allmulti_ = on;
      break;
    case kRxAlluni:
      alluni_ = on;
      break;
    case kRxNomulti:
      nomulti_ = on;
      break;
    case kRxNouni:
      nouni_ = on;
      break;
    case kRxNobcast:
      nobcast_ = on;
      break;
    default:
      return kAckErr;
  }
  rx_filter_changed();
  return kAckOk;
}

uint8_t VirtioNet::ctrl_mac(uint8_t cmd, const std::vector<uint8_t>& data) {
  if (cmd == kMacAddrSet) {
    if (data.size() != 6) return kAckErr;
    std::memcpy(macaddr_.data(), data.data(), 6);
    rx_filter_changed();
    return kAckOk;
  }
  if (cmd != kMacTableSet) return kAckErr;
  // Two tables: unicast then multicast, each a le32 count and count MACs.
  size_t pos = 0;
  std::vector<std::array<uint8_t, 6>> tables[2];
  bool overflow[2] = {false, false};
  for (int k = 0; k < 2; ++k) {
    uint32_t n;
    if (data.size() - pos < 4) return kAckErr;
    std::memcpy(&n, &data[pos], 4);
    pos += 4;
    if (n > (data.size() - pos) / 6) return kAckErr;
    // A table larger than the device keeps is an overflow: that class is then accepted whole
    // (QEMU's uni_overflow / multi_overflow).
    overflow[k] = tables[0].size() + n > kMacTableMax;
    for (uint32_t i = 0; i < n; ++i, pos += 6) {
      std::array<uint8_t, 6> m;
      std::memcpy(m.data(), &data[pos], 6);
      if (!overflow[k]) tables[k].push_back(m);
    }
  }
  if (pos != data.size()) return kAckErr;
  uni_table_ = std::move(tables[0]);
  multi_table_ = std::move(tables[1]);
  uni_overflow_ = overflow[0];
  multi_overflow_ = overflow[1];
  rx_filter_changed();
  return kAckOk;
}

uint8_t VirtioNet::ctrl_mq(uint8_t cmd, const std::vector<uint8_t>& data) {
  // VQ_PAIRS_SET only (no RSS); pairs between 1 and the device's, with MQ negotiated.
  if (cmd != kMqVqPairsSet || data.size() < 2 || !multiqueue_) return kAckErr;
  uint16_t pairs;
  std::memcpy(&pairs, data.data(), 2);
  if (pairs < kMqVqPairsMin || pairs > kMqVqPairsMax || pairs > max_pairs_) return kAckErr;
  curr_pairs_ = pairs;
  apply_queue_pairs();
  // Frames held for the newly active pairs can come now.
  for (unsigned i = 0; nd_ && i < curr_pairs_; ++i) nd_->receive_ready(i);
  return kAckOk;
}

void VirtioNet::handle_ctrl(VirtQueue& vq) {
  while (auto elem = vq.pop()) {
    size_t out = elem->out_bytes();
    if (out < 2 || elem->in_bytes() < 1) {
      error("virtio-net ctrl missing headers");
      return;
    }
    uint8_t cls_cmd[2];
    iov_to_buf(elem->out_sg, 0, cls_cmd, 2);
    std::vector<uint8_t> data(out - 2);
    iov_to_buf(elem->out_sg, 2, data.data(), data.size());
    uint8_t ack = kAckErr;
    if (cls_cmd[0] == kCtrlRx) {
      ack = ctrl_rx(cls_cmd[1], data);
    } else if (cls_cmd[0] == kCtrlMac) {
      ack = ctrl_mac(cls_cmd[1], data);
    } else if (cls_cmd[0] == kCtrlMq) {
      ack = ctrl_mq(cls_cmd[1], data);
    } else if (cls_cmd[0] == kCtrlAnnounce) {
      ack = kAckOk;
    }
    const iovec& last = elem->in_sg.back();
    static_cast<uint8_t*>(last.iov_base)[last.iov_len - 1] = ack;
    vq.push(*elem, 1);
  }
  notify(vq);
}

}  // namespace machina
