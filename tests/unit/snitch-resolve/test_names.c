/* SPDX-License-Identifier: MIT */
/* The parsers of the files that name containers (names_parse.c). */
#include <errno.h>

#include "names.h"
#include "test.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* a string literal and its length */
#define LIT(s) s, strlen(s)
#define UID "3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"

static void docker(void)
{
	struct container_names n;

	names_init(&n);
	CHECK_EQ_INT(names_from_docker_config(&n, LIT("{\"Name\":\"/web\",\"Config\":{\"Image\":\"nginx\"}}")), 0);
	CHECK(n.have_name && !strcmp(n.name, "web"));
	CHECK(n.have_image && !strcmp(n.image, "nginx"));
	CHECK(!n.have_pod_name && !n.have_pod_namespace);
	/* the kubelet's labels win over docker's own name */
	names_init(&n);
	static const char k[] = "{\"Name\":\"/k8s_app_web_shop_" UID "_0\",\"Config\":{\"Image\":\"a\\u002fb\","
		"\"Labels\":{\"io.kubernetes.container.name\":\"app\",\"io.kubernetes.pod.name\":\"web\","
		"\"io.kubernetes.pod.namespace\":\"shop\"}}}";
	CHECK_EQ_INT(names_from_docker_config(&n, k, sizeof(k) - 1), 0);
	CHECK(!strcmp(n.name, "app") && !strcmp(n.pod_name, "web") &&
	      !strcmp(n.pod_namespace, "shop") && !strcmp(n.image, "a/b"));
	/* not JSON; wrong types; empty values are not names */
	names_init(&n);
	CHECK_EQ_INT(names_from_docker_config(&n, LIT("{\"Name\":")), -EINVAL);
	CHECK_EQ_INT(names_from_docker_config(&n, LIT("{\"Name\":7,\"Config\":[]}")), 0);
	CHECK(!n.have_name && !n.have_image);
	CHECK_EQ_INT(names_from_docker_config(&n, LIT("{\"Name\":\"/\"}")), 0);
	CHECK(!n.have_name);
	/* a NUL in a name is refused, a name too long is left unknown */
	CHECK_EQ_INT(names_from_docker_config(&n, LIT("{\"Name\":\"/a\\u0000b\"}")), 0);
	CHECK(!n.have_name);
	{
		char big[600];
		int len = snprintf(big, sizeof(big), "{\"Name\":\"/%0300d\"}", 1);

		CHECK_EQ_INT(names_from_docker_config(&n, big, (size_t)len), 0);
		CHECK(!n.have_name);
	}
}

static void storage(void)
{
	static const char list[] =
		" [ {\"id\":\"other\",\"names\":[\"x\"]},"
		"{\"id\":\"" ID "\",\"names\":[\"db\",\"alias\"],"
		"\"metadata\":\"{\\\"image-name\\\":\\\"docker.io/library/postgres:16\\\",\\\"name\\\":\\\"db\\\"}\"} ]\n";
	static const char crio[] =
		"[{\"id\":\"" ID "\",\"names\":[\"k8s_app_web_shop_" UID "_0\"],"
		"\"metadata\":\"{\\\"pod-name\\\":\\\"web\\\",\\\"metadata-name\\\":\\\"app\\\",\\\"image-name\\\":\\\"q/r:1\\\"}\"}]";
	struct container_names n;

	names_init(&n);
	CHECK_EQ_INT(names_from_storage_list(&n, list, sizeof(list) - 1, ID), 0);
	CHECK(!strcmp(n.name, "db") && !strcmp(n.image, "docker.io/library/postgres:16"));
	names_init(&n);
	CHECK_EQ_INT(names_from_storage_list(&n, list, sizeof(list) - 1, "nobody"), -ENOENT);
	CHECK(!n.have_name);
	CHECK_EQ_INT(names_from_storage_list(&n, LIT("{}"), ID), -EINVAL);
	CHECK_EQ_INT(names_from_storage_list(&n, LIT("[1,\"a\",{}]"), ID), -ENOENT);
	names_init(&n);
	CHECK_EQ_INT(names_from_storage_list(&n, crio, sizeof(crio) - 1, ID), 0);
	CHECK(!strcmp(n.name, "app") && !strcmp(n.pod_name, "web") && !strcmp(n.image, "q/r:1"));
	/* metadata that is not JSON: the names array still names it */
	static const char bad[] = "[{\"id\":\"" ID "\",\"names\":[\"n1\"],\"metadata\":\"{oops\"}]";
	names_init(&n);
	CHECK_EQ_INT(names_from_storage_list(&n, bad, sizeof(bad) - 1, ID), 0);
	CHECK(!strcmp(n.name, "n1") && !n.have_image);
}

static void oci(void)
{
	static const char c[] = "{\"ociVersion\":\"1.1.0\",\"annotations\":{"
		"\"io.kubernetes.cri.container-name\":\"coredns\","
		"\"io.kubernetes.cri.image-name\":\"registry.k8s.io/coredns/coredns:v1.11.1\","
		"\"io.kubernetes.cri.sandbox-name\":\"coredns-5d78c\","
		"\"io.kubernetes.cri.sandbox-namespace\":\"kube-system\"}}";
	static const char o[] = "{\n  \"annotations\": {\n    \"io.kubernetes.container.name\": \"app\",\n"
		"    \"io.kubernetes.pod.name\": \"web\",\n    \"io.kubernetes.pod.namespace\": \"shop\",\n"
		"    \"io.kubernetes.cri-o.ImageName\": \"quay.io/x/y:2\"\n  }\n}\n";
	struct container_names n;

	names_init(&n);
	CHECK_EQ_INT(names_from_oci_config(&n, c, sizeof(c) - 1), 0);
	CHECK(!strcmp(n.name, "coredns") && !strcmp(n.pod_namespace, "kube-system") &&
	      !strcmp(n.pod_name, "coredns-5d78c") &&
	      !strcmp(n.image, "registry.k8s.io/coredns/coredns:v1.11.1"));
	names_init(&n);
	CHECK_EQ_INT(names_from_oci_config(&n, o, sizeof(o) - 1), 0);
	CHECK(!strcmp(n.name, "app") && !strcmp(n.pod_namespace, "shop") &&
	      !strcmp(n.pod_name, "web") && !strcmp(n.image, "quay.io/x/y:2"));
	names_init(&n);
	CHECK_EQ_INT(names_from_oci_config(&n, LIT("{\"annotations\":null}")), 0);
	CHECK(!n.have_name);
}

static void kubelet(void)
{
	struct container_names n;

	names_init(&n);
	CHECK_EQ_INT(names_from_pod_dir(&n, "shop_cart-7d9f5c_" UID, UID), 0);
	CHECK(!strcmp(n.pod_namespace, "shop") && !strcmp(n.pod_name, "cart-7d9f5c"));
	names_init(&n);
	CHECK_EQ_INT(names_from_pod_dir(&n, "shop_cart_x_" UID, UID), -ENOENT);
	CHECK_EQ_INT(names_from_pod_dir(&n, "_cart_" UID, UID), -ENOENT);
	CHECK_EQ_INT(names_from_pod_dir(&n, "shop__" UID, UID), -ENOENT);
	CHECK_EQ_INT(names_from_pod_dir(&n, UID, UID), -ENOENT);
	CHECK_EQ_INT(names_from_pod_dir(&n, "shop_cart_" UID "x", UID), -ENOENT);
	CHECK_EQ_INT(names_from_pod_dir(&n, "", UID), -ENOENT);
	CHECK(!n.have_pod_name && !n.have_pod_namespace);

	CHECK_EQ_INT(names_from_container_log(&n, "cart-7d9f5c_shop_log-shipper-" ID ".log", ID), 0);
	CHECK(!strcmp(n.pod_name, "cart-7d9f5c") && !strcmp(n.pod_namespace, "shop") &&
	      !strcmp(n.name, "log-shipper"));
	names_init(&n);
	CHECK_EQ_INT(names_from_container_log(&n, "a_b-" ID ".log", ID), -ENOENT);
	CHECK_EQ_INT(names_from_container_log(&n, "a_b_c_d-" ID ".log", ID), -ENOENT);
	CHECK_EQ_INT(names_from_container_log(&n, "a_b_c-" ID ".txt", ID), -ENOENT);
	CHECK_EQ_INT(names_from_container_log(&n, "a_b_c" ID ".log", ID), -ENOENT);
	CHECK_EQ_INT(names_from_container_log(&n, ID ".log", ID), -ENOENT);
	CHECK_EQ_INT(names_from_container_log(&n, ".log", ID), -ENOENT);
	CHECK(!n.have_name);
	CHECK_EQ_INT(names_from_container_log(&n, "a_b_c-" ID ".log", ID), 0);
	CHECK(!strcmp(n.name, "c"));
}

int main(void)
{
	docker();
	storage();
	oci();
	kubelet();
	TEST_MAIN_END("test_names");
}
