/* Links, addresses and routes over route netlink (libmnl): what `ip` does, without running it. */
#include "net/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "lib/cleanup.h"

struct net_nl {
	struct mnl_socket *sock;
	unsigned portid, seq;
	char buf[32768]; /* at least a page: a dump's messages come in page-sized batches */
};

int net_nl_open(int netns_fd, struct net_nl **out, berr *e)
{
	struct net_nl *nl = calloc(1, sizeof *nl);
	if (!nl)
		return berr_set(e, ENOMEM, "netlink");
	/* A socket belongs to the namespace it was made in: make it there, then come back. */
	_cleanup_close_ int self = -1;
	if (netns_fd >= 0) {
		self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0 || setns(netns_fd, CLONE_NEWNET) < 0) {
			free(nl);
			return berr_sys(e, "entering a network namespace");
		}
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	int saved = errno;
	if (netns_fd >= 0 && setns(self, CLONE_NEWNET) < 0)
		abort(); /* a daemon thread left in a container's namespace would misroute everything after */
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		if (!nl->sock)
			errno = saved;
		berr_sys(e, "opening a netlink socket");
		net_nl_close(nl);
		return -1;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	*out = nl;
	return 0;
}

void net_nl_close(struct net_nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
}

static struct nlmsghdr *msg_new(struct net_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++nl->seq;
	return h;
}

/* Send h and read the answers (cb for each message, may be NULL) up to the ack or the dump's end. */
static int talk(struct net_nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
		return -1;
	unsigned seq = h->nlmsg_seq;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof nl->buf);
		if (n < 0)
			return -1;
		int r = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
		if (r <= MNL_CB_STOP)
			return r < 0 ? -1 : 0;
	}
}

struct link_query {
	int index;
};

static int on_link(const struct nlmsghdr *h, void *data)
{
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	((struct link_query *)data)->index = ifi->ifi_index;
	return MNL_CB_OK;
}

int net_link_index(struct net_nl *nl, const char *name, int *index, berr *e)
{
	struct nlmsghdr *h = msg_new(nl, RTM_GETLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	struct link_query q = {0};
	if (talk(nl, h, on_link, &q) < 0)
		return berr_set(e, errno == ENODEV ? ENOENT : errno, "looking up link %s", name);
	*index = q.index;
	return 0;
}

int net_bridge_create(struct net_nl *nl, const char *name, const uint8_t mac[6], berr *e)
{
	struct nlmsghdr *h = msg_new(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	/* A MAC of its own: else the bridge takes its ports' lowest and changes as they come and go. */
	mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, info);
	if (talk(nl, h, NULL, NULL) < 0)
		return berr_sys(e, "creating bridge %s", name);
	return 0;
}

int net_link_up(struct net_nl *nl, int index, int mtu, berr *e)
{
	struct nlmsghdr *h = msg_new(nl, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	if (mtu > 0)
		mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
	if (talk(nl, h, NULL, NULL) < 0)
		return mtu > 0 ? berr_sys(e, "setting link %d up with MTU %d", index, mtu)
			       : berr_sys(e, "setting link %d up", index);
	return 0;
}

int net_link_delete(struct net_nl *nl, const char *name, berr *e)
{
	struct nlmsghdr *h = msg_new(nl, RTM_DELLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	if (talk(nl, h, NULL, NULL) < 0)
		return berr_sys(e, "deleting link %s", name);
	return 0;
}

struct addr_query {
	int index;
	struct net_subnet *subnets;
	uint32_t *ips;
	size_t cap, n;
};

static int on_addr(const struct nlmsghdr *h, void *data)
{
	struct addr_query *q = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != q->index || q->n >= q->cap)
		return MNL_CB_OK;
	struct nlattr *a;
	mnl_attr_for_each(a, h, sizeof *ifa)
	{
		if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4) {
			uint32_t ip = ntohl(mnl_attr_get_u32(a));
			q->ips[q->n] = ip;
			q->subnets[q->n] =
			    (struct net_subnet){ip & net_subnet_mask(ifa->ifa_prefixlen), ifa->ifa_prefixlen};
			q->n++;
			break;
		}
	}
	return MNL_CB_OK;
}

int net_addr_list(struct net_nl *nl, int index, struct net_subnet *subnets, uint32_t *ips, size_t cap, size_t *n,
		  berr *e)
{
	struct nlmsghdr *h = msg_new(nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof *ifa);
	ifa->ifa_family = AF_INET;
	struct addr_query q = {index, subnets, ips, cap, 0};
	if (talk(nl, h, on_addr, &q) < 0)
		return berr_sys(e, "listing the addresses of link %d", index);
	*n = q.n;
	return 0;
}

static int addr_change(struct net_nl *nl, uint16_t type, int index, uint32_t ip, int prefix)
{
	struct nlmsghdr *h = msg_new(nl, type, NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0));
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof *ifa);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)index;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	mnl_attr_put_u32(h, IFA_LOCAL, htonl(ip));
	mnl_attr_put_u32(h, IFA_ADDRESS, htonl(ip));
	if (type == RTM_NEWADDR && prefix < 31)
		mnl_attr_put_u32(h, IFA_BROADCAST, htonl(ip | ~net_subnet_mask(prefix)));
	return talk(nl, h, NULL, NULL);
}

int net_addr_add(struct net_nl *nl, int index, uint32_t ip, int prefix, berr *e)
{
	char s[NET_IP_LEN];
	if (addr_change(nl, RTM_NEWADDR, index, ip, prefix) < 0) {
		net_ip_format(ip, s);
		return berr_sys(e, "adding address %s/%d to link %d", s, prefix, index);
	}
	return 0;
}

int net_addr_del(struct net_nl *nl, int index, uint32_t ip, int prefix, berr *e)
{
	char s[NET_IP_LEN];
	if (addr_change(nl, RTM_DELADDR, index, ip, prefix) < 0) {
		net_ip_format(ip, s);
		return berr_sys(e, "removing address %s/%d from link %d", s, prefix, index);
	}
	return 0;
}

struct route_query {
	int skip_index;
	struct net_subnet *v;
	size_t n, cap;
	bool nomem;
};

static int on_route(const struct nlmsghdr *h, void *data)
{
	struct route_query *q = data;
	struct rtmsg *rt = mnl_nlmsg_get_payload(h);
	if (rt->rtm_family != AF_INET || rt->rtm_dst_len == 0 || rt->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	uint32_t dst = 0, table = rt->rtm_table;
	int oif = -1;
	struct nlattr *a;
	mnl_attr_for_each(a, h, sizeof *rt)
	{
		switch (mnl_attr_get_type(a)) {
		case RTA_DST: dst = ntohl(mnl_attr_get_u32(a)); break;
		case RTA_OIF: oif = (int)mnl_attr_get_u32(a); break;
		case RTA_TABLE: table = mnl_attr_get_u32(a); break;
		}
	}
	if (table != RT_TABLE_MAIN || (q->skip_index > 0 && oif == q->skip_index))
		return MNL_CB_OK;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct net_subnet *v = realloc(q->v, cap * sizeof *v);
		if (!v) {
			q->nomem = true;
			return MNL_CB_OK;
		}
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n++] = (struct net_subnet){dst & net_subnet_mask(rt->rtm_dst_len), rt->rtm_dst_len};
	return MNL_CB_OK;
}

int net_routes_list(struct net_nl *nl, int skip_index, struct net_subnet **out, size_t *n, berr *e)
{
	struct nlmsghdr *h = msg_new(nl, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof *rt);
	rt->rtm_family = AF_INET;
	struct route_query q = {.skip_index = skip_index};
	if (talk(nl, h, on_route, &q) < 0) {
		free(q.v);
		return berr_sys(e, "listing routes");
	}
	if (q.nomem) {
		free(q.v);
		return berr_set(e, ENOMEM, "listing routes");
	}
	*out = q.v;
	*n = q.n;
	return 0;
}

int net_route_default_add(struct net_nl *nl, int index, uint32_t gateway, berr *e)
{
	struct nlmsghdr *h = msg_new(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof *rt);
	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(h, RTA_GATEWAY, htonl(gateway));
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
	if (talk(nl, h, NULL, NULL) < 0) {
		char s[NET_IP_LEN];
		net_ip_format(gateway, s);
		return berr_sys(e, "adding the default route via %s", s);
	}
	return 0;
}

int net_veth_create(struct net_nl *nl, const char *host_name, int master_index, int netns_fd, const char *peer_name,
		    const uint8_t peer_mac[6], int mtu, berr *e)
{
	struct nlmsghdr *h = msg_new(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, host_name);
	mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master_index);
	if (mtu > 0)
		mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
	/*
	 * The peer's own ifinfomsg, then its attributes: made in the container's namespace. Down: a veth
	 * cannot come up before its pair is complete (ENOTCONN); the caller sets it up there.
	 */
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof *pifi);
	memset(pifi, 0, sizeof *pifi);
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, peer_name);
	mnl_attr_put(h, IFLA_ADDRESS, 6, peer_mac);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	if (mtu > 0)
		mnl_attr_put_u32(h, IFLA_MTU, (uint32_t)mtu);
	mnl_attr_nest_end(h, peer);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	if (talk(nl, h, NULL, NULL) < 0)
		return berr_sys(e, "creating veth pair %s", host_name);
	return 0;
}
