package dev.unmask.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a Hub model is named on the command line, and where the environment says the Hub and its cache are. */
class HubModelIdTest {

    @Test
    void aNameWithoutRevisionIsMainAndOneWithAnAtIsThatRevision() {
        assertEquals(
                new HubModelId("GSAI-ML/LLaDA-8B-Instruct", "main"), HubModelId.parse("hf:GSAI-ML/LLaDA-8B-Instruct"));
        HubModelId tagged = HubModelId.parse("hf:Dream-org/Dream-v0-Instruct-7B@refs/pr/1");
        assertEquals("refs/pr/1", tagged.revision());
        assertFalse(tagged.isCommit());
        assertTrue(HubModelId.parse("hf:a/b@" + "0123456789abcdef0123456789abcdef01234567")
                .isCommit());
        assertEquals(
                "models--GSAI-ML--LLaDA-8B-Instruct",
                HubModelId.parse("hf:GSAI-ML/LLaDA-8B-Instruct").cacheFolderName());
    }

    @Test
    void namesThatCouldLeaveTheCacheOrAreNoRepositoryAreRefusedWithAnExample() {
        for (String bad : new String[] {
            "hf:LLaDA",
            "hf:a/b/c",
            "hf:../x",
            "hf:a/..",
            "hf:a--b/c",
            "hf:a/b@../../etc",
            "hf:a/b@",
            "hf:/b",
            "hf:a/b@x//y"
        }) {
            UnmaskException e = assertThrows(UnmaskException.class, () -> HubModelId.parse(bad), bad);
            assertEquals(Failure.BAD_REQUEST, e.failure(), bad);
            assertTrue(e.getMessage().contains(HubModelId.EXAMPLE), e.getMessage());
        }
        assertFalse(HubModelId.isHub("models/tiny-llada"));
    }

    @Test
    void theEnvironmentIsReadAsHuggingfaceHubReadsIt(@TempDir Path home) {
        HubSettings defaults = HubSettings.fromEnvironment(Map.of(), home);
        assertEquals("https://huggingface.co", defaults.endpoint().toString());
        assertEquals(home.resolve(".cache/huggingface/hub"), defaults.cacheRoot());
        assertFalse(defaults.offline());

        HubSettings set = HubSettings.fromEnvironment(
                Map.of(
                        "HF_ENDPOINT",
                        "https://hf-mirror.com/",
                        "HF_HOME",
                        "/data/hf",
                        "HF_HUB_OFFLINE",
                        "yes",
                        "HF_TOKEN",
                        "hf_secret"),
                home);
        assertEquals("https://hf-mirror.com", set.endpoint().toString());
        assertEquals(Path.of("/data/hf/hub"), set.cacheRoot());
        assertTrue(set.offline());
        assertEquals("hf_secret", set.token());
        assertFalse(set.toString().contains("hf_secret"), set.toString());

        assertEquals(
                Path.of("/fast/cache"),
                HubSettings.fromEnvironment(Map.of("HF_HUB_CACHE", "/fast/cache", "HF_HOME", "/data/hf"), home)
                        .cacheRoot());
        assertEquals(
                Path.of("/xdg/huggingface/hub"),
                HubSettings.fromEnvironment(Map.of("XDG_CACHE_HOME", "/xdg"), home)
                        .cacheRoot());
    }

    @Test
    void theTokenFileOfHfAuthLoginIsUsedWhenHfTokenIsUnset(@TempDir Path home) throws Exception {
        java.nio.file.Files.createDirectories(home.resolve(".cache/huggingface"));
        java.nio.file.Files.writeString(home.resolve(".cache/huggingface/token"), "hf_from_file\n");
        assertEquals("hf_from_file", HubSettings.fromEnvironment(Map.of(), home).token());
    }

    @Test
    void aPlainHttpEndpointIsRefusedUnlessOnThisMachine(@TempDir Path home) {
        UnmaskException e = assertThrows(
                UnmaskException.class,
                () -> HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "http://mirror.example.com"), home));
        assertTrue(e.getMessage().contains("https://hf-mirror.com"), e.getMessage());
        assertEquals(
                "http://127.0.0.1:8080",
                HubSettings.fromEnvironment(Map.of("HF_ENDPOINT", "http://127.0.0.1:8080"), home)
                        .endpoint()
                        .toString());
    }
}
