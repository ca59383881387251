/* SPDX-License-Identifier: MIT */
#include "container.h"
#include "test.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "3f2a1c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
#define UIDU "3f2a1c4e_5b6d_4e7f_8a9b_0c1d2e3f4a5b"

static void check(const char *path, const char *runtime, const char *id,
		  const char *pod)
{
	struct container_info i;

	container_parse(path, &i);
	if (!((runtime == NULL) == (i.runtime == NULL) &&
	      (!runtime || !strcmp(runtime, i.runtime)) &&
	      !strcmp(id, i.id) && !strcmp(pod, i.pod_uid)))
		fprintf(stderr, "%s: got %s '%s' '%s'\n", path,
			i.runtime ? i.runtime : "(none)", i.id, i.pod_uid);
	CHECK((runtime == NULL) == (i.runtime == NULL));
	CHECK(!runtime || !strcmp(runtime, i.runtime));
	CHECK(!strcmp(id, i.id));
	CHECK(!strcmp(pod, i.pod_uid));
}

static void check_app(const char *path, const char *kind, const char *app)
{
	struct container_info i;

	container_parse(path, &i);
	if (!((kind == NULL) == (i.app_kind == NULL) && (!kind || !strcmp(kind, i.app_kind)) &&
	      !strcmp(app, i.app)))
		fprintf(stderr, "%s: got app %s '%s'\n", path, i.app_kind ? i.app_kind : "(none)", i.app);
	CHECK((kind == NULL) == (i.app_kind == NULL));
	CHECK(!kind || !strcmp(kind, i.app_kind));
	CHECK(!strcmp(app, i.app));
}

int main(void)
{
	check("/", NULL, "", "");
	check("/user.slice/user-1000.slice/session-2.scope", NULL, "", "");
	check("/system.slice/docker-" HEX ".scope", "docker", HEX, "");
	check("/docker/" HEX, "docker", HEX, "");
	check("/system.slice/docker.service", NULL, "", "");
	check("/machine.slice/libpod-" HEX ".scope/container", "podman", HEX, "");
	check("/machine.slice/libpod-conmon-" HEX ".scope", NULL, "", "");
	check("/machine.slice/machine-web\\x2d1.scope/payload", "systemd-nspawn", "web-1", "");
	check("/lxc.payload.box/init.scope", "lxc", "box", "");
	check("/lxc/box", "lxc", "box", "");
	check("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
	      ".slice/cri-containerd-" HEX ".scope", "containerd", HEX, UID);
	check("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
	      ".slice/crio-" HEX ".scope", "cri-o", HEX, UID);
	check("/kubepods.slice/kubepods-pod" UIDU ".slice/docker-" HEX ".scope",
	      "docker", HEX, UID);
	check("/kubepods/besteffort/pod" UID "/" HEX, NULL, HEX, UID);
	/* a pod-looking name outside kubepods is not a pod */
	check("/system.slice/pod" UID ".service", NULL, "", "");
	/* rootless podman: the user whose systemd instance holds it */
	{
		struct container_info i;

		container_parse("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" HEX ".scope",
				&i);
		CHECK(i.runtime && !strcmp(i.runtime, "podman") && i.owner_uid == 1000);
		container_parse("/system.slice/docker-" HEX ".scope", &i);
		CHECK(i.owner_uid == -1);
		container_parse("/user.slice/user@x1.service/libpod-" HEX ".scope", &i);
		CHECK(i.owner_uid == -1);
		container_parse("/user.slice/user@1.services/libpod-" HEX ".scope", &i);
		CHECK(i.owner_uid == -1);
	}
	/* upper-case or short hex is not an id */
	check("/system.slice/docker-ABC.scope", NULL, "", "");

	/* sandboxed desktop apps, as their launchers name their scopes */
	check_app("/user.slice/user-1000.slice/user@1000.service/app.slice/"
		  "app-flatpak-org.mozilla.firefox-12345.scope", "flatpak", "org.mozilla.firefox");
	check_app("/user.slice/user-1000.slice/user@1000.service/app.slice/"
		  "app-flatpak-org.example.App2-7.scope/sub", "flatpak", "org.example.App2");
	check_app("/user.slice/user@1000.service/app.slice/app-flatpak-com.valvesoftware.Steam.scope",
		  "flatpak", "com.valvesoftware.Steam");
	check_app("/user.slice/user-1000.slice/user@1000.service/app.slice/"
		  "snap.firefox.firefox-4f1c2d3e-aaaa-bbbb-cccc-0123456789ab.scope", "snap", "firefox");
	check_app("/user.slice/user@1000.service/app.slice/snap.code.code.3a7b.scope", "snap", "code");
	check_app("/system.slice/snap.lxd.daemon.service", "snap", "lxd");
	/* not apps: another launcher's scope, odd characters, empty names */
	check_app("/user.slice/user@1000.service/app.slice/app-gnome-firefox-1234.scope", NULL, "");
	check_app("/system.slice/snapd.service", NULL, "");
	check_app("/app.slice/app-flatpak-org.x\\y-1.scope", NULL, "");
	check_app("/app.slice/snap..x.scope", NULL, "");
	check_app("/app.slice/snap.Firefox.firefox.scope", NULL, "");
	TEST_MAIN_END("test_container");
}
