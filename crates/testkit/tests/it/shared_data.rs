use sleuth_testkit::{shared_data, shared_data_dir};

#[test]
fn resolves_a_file_in_the_shared_folder() {
    let readme = shared_data("README.md");
    assert!(readme.is_file(), "{}", readme.display());
    assert_eq!(readme, shared_data_dir().join("README.md"));
}
