// virtio-net (virtio 1.x, 5.1): "virtio-net-device" on a -netdev backend (`netdev=`), proxy
// "virtio-net-pci". Receive/transmit queue pairs and the control queue.
//
// Multiqueue (mq=on, VIRTIO_NET_F_MQ): a netdev with N queues (tap,queues=N) gives N queue pairs
// (max_virtqueue_pairs = N; queues receiveq1, transmitq1, ..., receiveqN, transmitqN, controlq).
// Pair k is wired to the netdev's queue k. Pair 0 alone is active after reset and until the
// driver's VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET; the netdev's queues of inactive pairs are detached
// (tap: the kernel steers nothing to them). A driver that does not take MQ gets one pair and the
// control queue at index 2 (as QEMU's virtio_net_set_multiqueue). With mq=off only the netdev's
// queue 0 is used.
//
// Frames carry a 12-byte virtio_net_hdr_v1 (a legacy driver without MRG_RXBUF: the 10-byte
// virtio_net_hdr, converted for a vnet-header backend). With a backend that takes the header (tap
// with vnet_hdr), it is passed through and the checksum/segmentation offloads are offered;
// otherwise (slirp, tap without vnet_hdr) it is stripped on transmit and zero on receive, and no
// offloads are offered — the guest then computes its own checksums. Mergeable receive buffers are
// offered (the guest may post small buffers; a frame spans several, `num_buffers` says how many).
//
// Receive filtering as the control queue programs it (promiscuous, all-multicast, all-unicast,
// no-broadcast, MAC tables of 64 entries with QEMU's overflow rule, MAC address); a change is
// announced with NIC_RX_FILTER_CHANGED, once until query-rx-filter has read the new state.
// Link state: set_link on the NIC's id or its netdev → config status LINK_UP and a config
// interrupt. Frames the guest has no buffer for stay queued in the backend (bounded) until it
// posts buffers.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "hw/virtio/virtio.h"
#include "net/net.h"

namespace machina {

inline constexpr const char* kTypeVirtioNet = "virtio-net-device";
inline constexpr const char* kTypeVirtioNetPci = "virtio-net-pci";

class VirtioNet : public VirtioDevice {
 public:
  // Properties.
  std::string mac_;
  std::string netdev_;
  bool mrg_rxbuf_ = true;
  bool csum_ = true;
  bool guest_csum_ = true;
  bool ctrl_vq_ = true;
  bool ctrl_rx_ = true;
  bool status_ = true;
  bool mq_ = false;
  uint16_t rx_queue_size_ = 256;
  uint16_t tx_queue_size_ = 256;

  const std::array<uint8_t, 6>& mac() const { return macaddr_; }
  // The netdev's queue count (1 without a netdev): QEMU's nic_conf.peers.queues, which sets
  // max_virtqueue_pairs and virtio-net-pci's default `vectors` (2 * queues + 2).
  unsigned peer_queues() const { return nd_ ? nd_->num_queues() : 1; }

 protected:
  uint64_t device_features() const override;
  void get_config(std::vector<uint8_t>& cfg) override;
  void set_config(const std::vector<uint8_t>& cfg, uint32_t addr, unsigned size) override;
  void features_set(uint64_t features) override;
  void device_reset() override;
  Status virtio_realize() override;
  void virtio_unrealize() override;

 private:
  bool vnet_hdr() const { return vnet_hdr_; }
  void handle_tx(VirtQueue& vq, unsigned pair);
  void handle_rx(unsigned pair);
  void handle_ctrl(VirtQueue& vq);
  bool can_receive(unsigned pair);
  ssize_t receive(unsigned pair, const iovec* iov, int iovcnt);
  // The virtqueues for `pairs` queue pairs and the control queue (rebuilt when it changes).
  void set_queue_layout(unsigned pairs);
  // Attaches the netdev's queues of the active pairs, detaches the others.
  void apply_queue_pairs();
  uint8_t ctrl_mq(uint8_t cmd, const std::vector<uint8_t>& data);
  bool accept_frame(const uint8_t* dst) const;
  uint8_t ctrl_rx(uint8_t cmd, const std::vector<uint8_t>& data);
  uint8_t ctrl_mac(uint8_t cmd, const std::vector<uint8_t>& data);
  void rx_filter_changed();
  json query_rx_filter();
  void set_link(bool up);
  std::string qdev_id() const;

  NetdevRef nd_;
  std::array<uint8_t, 6> macaddr_{};
  bool vnet_hdr_ = false;  // the backend carries the header
  size_t hdr_len_ = 10;    // the guest's header: 12 with VERSION_1 or MRG_RXBUF
  bool link_up_ = true;
  // Multiqueue: pairs the device has, pairs laid out as virtqueues, pairs the driver uses;
  // whether the driver took VIRTIO_NET_F_MQ.
  unsigned max_pairs_ = 1, layout_pairs_ = 1, curr_pairs_ = 1;
  bool multiqueue_ = false;
  // Receive filter.
  bool promisc_ = true, allmulti_ = false, alluni_ = false, nomulti_ = false, nouni_ = false,
       nobcast_ = false;
  std::vector<std::array<uint8_t, 6>> uni_table_, multi_table_;
  bool uni_overflow_ = false, multi_overflow_ = false;
  bool rx_filter_notify_ = true;
  std::string nic_name_;
  std::string link_name_;
};

}  // namespace machina
