// Decodes captured frames (Ethernet, Linux SLL/SLL2, raw IP, BSD loopback) into TCP SYNs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "v6bl/ingest/syn_record.h"

namespace v6bl::ingest {

// Link types this decoder understands; anything else is refused when a capture is opened.
enum class link_kind : std::uint8_t { ethernet, linux_sll, linux_sll2, raw_ip, bsd_null, unknown };

// Maps a libpcap DLT_* value to a link_kind (unknown when unsupported).
link_kind link_kind_of_dlt(int dlt);
// Maps a LINKTYPE_* value, as capture files (pcapng's interface blocks) store it.
link_kind link_kind_of_linktype(int linktype);
const char* link_kind_name(link_kind k);

// Why a frame did not yield a SYN. Only `malformed` is bad input; the rest are ordinary
// traffic a sensor also sees (RSTs, ACKs, other protocols).
enum class decode_status : std::uint8_t {
    syn,         // `out` holds a connection-opening SYN
    not_syn,     // TCP without SYN, SYN+ACK, or with RST
    not_tcp,     // another protocol, ARP, non-first fragment, ...
    wrong_port,  // a SYN to a port other than the sensor's
    no_sender,   // a SYN from an IPv6 source no sender has (::/64, fe80::/10, ff00::/8)
    malformed,   // a length field points past the captured bytes, or a header is impossible
};

// `smtp_port` 0 accepts SYNs to any port. Every length read from the frame is checked
// against `caplen`; the frame is never read past it.
decode_status decode_syn(link_kind link, const std::uint8_t* frame, std::size_t caplen,
                         std::int64_t time_us, std::uint16_t smtp_port, syn_record& out);

}  // namespace v6bl::ingest
