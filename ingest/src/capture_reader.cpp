// libpcap wrapper: offline files with resumable offsets, live capture with the sensor BPF.
#include "v6bl/ingest/capture_reader.h"

#include <pcap/pcap.h>

#include <cstring>

namespace v6bl::ingest {

std::string sensor_bpf_filter(std::uint16_t port) {
    const std::string p = std::to_string(port);
    return "(ip and tcp dst port " + p +
           " and tcp[tcpflags] & (tcp-syn|tcp-ack|tcp-rst) == tcp-syn)" +
           " or (ip6 and tcp dst port " + p + ")";
}

capture_reader::~capture_reader() {
    if (handle_) pcap_close(handle_);  // closes file_ too
}

std::unique_ptr<capture_reader> capture_reader::open_file(const std::string& path,
                                                          std::uint64_t resume_offset,
                                                          std::string& error) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        error = std::string("cannot open: ") + std::strerror(errno);
        return nullptr;
    }
    unsigned char magic[4] = {};
    const bool have_magic = std::fread(magic, 1, 4, f) == 4;
    std::rewind(f);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap* h = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!h) {
        std::fclose(f);
        error = std::string("not a pcap/pcapng capture: ") + errbuf;
        return nullptr;
    }
    std::unique_ptr<capture_reader> r(new capture_reader());
    r->handle_ = h;
    r->file_ = f;
    r->pcapng_ =
        have_magic && magic[0] == 0x0A && magic[1] == 0x0D && magic[2] == 0x0D && magic[3] == 0x0A;
    const int dlt = pcap_datalink(h);
    r->link_ = link_kind_of_dlt(dlt);
    if (r->link_ == link_kind::unknown) {
        const char* name = pcap_datalink_val_to_name(dlt);
        error = "unsupported link type " + std::to_string(dlt) + " (" + (name ? name : "?") +
                "); supported: Ethernet, Linux SLL, Linux SLL2, raw IP, BSD loopback";
        return nullptr;
    }
    if (resume_offset > 0 && !r->pcapng_) {
        if (fseeko(f, static_cast<off_t>(resume_offset), SEEK_SET) != 0) {
            error = "cannot seek to checkpoint offset " + std::to_string(resume_offset);
            return nullptr;
        }
    }
    return r;
}

std::unique_ptr<capture_reader> capture_reader::open_live(const std::string& interface,
                                                          std::uint16_t smtp_port,
                                                          std::string& error) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap* h = pcap_create(interface.c_str(), errbuf);
    if (!h) {
        error = errbuf;
        return nullptr;
    }
    std::unique_ptr<capture_reader> r(new capture_reader());
    r->handle_ = h;
    r->live_ = true;
    pcap_set_snaplen(h, 256);  // headers only: a SYN never needs more
    pcap_set_promisc(h, 0);
    pcap_set_timeout(h, 100);
    pcap_set_immediate_mode(h, 1);
    if (pcap_activate(h) < 0) {
        error = std::string("cannot capture on ") + interface + ": " + pcap_geterr(h);
        return nullptr;
    }
    r->link_ = link_kind_of_dlt(pcap_datalink(h));
    if (r->link_ == link_kind::unknown) {
        error = "unsupported link type on " + interface;
        return nullptr;
    }
    bpf_program prog{};
    const std::string filter = sensor_bpf_filter(smtp_port);
    if (pcap_compile(h, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(h, &prog) != 0) {
        error = std::string("cannot set filter: ") + pcap_geterr(h);
        pcap_freecode(&prog);
        return nullptr;
    }
    pcap_freecode(&prog);
    pcap_setnonblock(h, 1, errbuf);
    return r;
}

capture_status capture_reader::next(capture_frame& frame) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(handle_, &hdr, &data);
    if (rc == 1) {
        frame.data = data;
        frame.caplen = hdr->caplen;
        frame.time_us = static_cast<std::int64_t>(hdr->ts.tv_sec) * 1'000'000 + hdr->ts.tv_usec;
        return capture_status::frame;
    }
    if (rc == 0) return capture_status::timeout;
    if (rc == PCAP_ERROR_BREAK) return capture_status::end;
    error_ = pcap_geterr(handle_);
    if (!live_ && error_.find("truncated") != std::string::npos) return capture_status::truncated;
    return capture_status::error;
}

std::uint64_t capture_reader::offset() const {
    if (!file_) return 0;
    const off_t o = ftello(file_);
    return o < 0 ? 0 : static_cast<std::uint64_t>(o);
}

}  // namespace v6bl::ingest
