from spsll.studies.morphing.study import main

if __name__ == "__main__":
    main()
